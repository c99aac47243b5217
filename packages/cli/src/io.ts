/** Where a command writes and what can stop it; the binary wires these to the process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars are redrawn) or a file or pipe (plain lines). */
  stderrIsTTY?: boolean;
  /** Terminal width. */
  columns?: number;
  /** Aborted by Ctrl-C / SIGTERM (reason: InterruptedError). */
  signal?: AbortSignal;
}
