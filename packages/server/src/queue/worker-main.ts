/**
 * The body of `superres worker`: consume jobs until told to stop, then stop gracefully.
 * (The CLI command that parses flags and builds the processor lives in @superres/cli.)
 */
import type { JobProcessor, JobQueue } from '../contracts.js';
import { assertConcurrency } from './common.js';

export interface RunWorkerOptions {
  queue: JobQueue;
  processor: JobProcessor;
  /** How many jobs run at once. */
  concurrency: number;
  /** Aborting it stops the worker: no new jobs, running ones finish within `graceMs`. */
  signal: AbortSignal;
  /** How long running jobs may take to finish after the signal before they are aborted and go back to the queue; default 30 000 ms. */
  graceMs?: number;
}

/**
 * Starts consuming `queue` with `processor` and resolves once `signal` has aborted and the queue
 * is closed (running jobs finished, or returned to the queue at the grace period's end).
 * Rejects, after closing the queue, if the worker cannot start.
 */
export async function runWorker(options: RunWorkerOptions): Promise<void> {
  const { queue, processor, concurrency, signal } = options;
  assertConcurrency(concurrency);
  const graceMs = options.graceMs ?? 30_000;
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  if (!signal.aborted) {
    try {
      await queue.startWorker(processor, { concurrency });
    } catch (err) {
      await queue.close({ graceMs: 0 }).catch(() => undefined);
      throw err;
    }
  }
  await stopped;
  await queue.close({ graceMs });
}
