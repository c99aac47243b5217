/**
 * Ctrl-C and SIGTERM. The first signal aborts the command's work (AbortSignal): an upscale
 * stops within one tile, leaves no output and exits 128 + the signal's number (130, 143), as
 * shells report a process a signal ended; `serve` and `worker` shut down gracefully and exit 0.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export const SIGNAL_EXIT_CODES: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

/** The abort reason the binary gives its AbortSignal. */
export class InterruptedError extends Error {
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
  }
}

/** The signal that aborted `signal`, if a stop signal did. */
export function stopSignalOf(signal: AbortSignal | undefined): StopSignal | undefined {
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return reason instanceof InterruptedError ? reason.signal : undefined;
}
