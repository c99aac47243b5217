/** Helpers shared by the embedded and the BullMQ queues. */
import type { JobRecord, JobStatus } from '../contracts.js';
import { errorCodeOf } from '../errors-http.js';

/** Thrown by `enqueue` when the key already has `limit` jobs queued or running. */
export class PerKeyLimitError extends Error {
  constructor(
    readonly pending: number,
    readonly limit: number,
  ) {
    super(`Too many jobs in progress for this key (${pending}, limit ${limit})`);
    this.name = 'PerKeyLimitError';
  }
}

/** The error code recorded when a processor throws something that is not a SuperresError. */
export const INTERNAL_ERROR_CODE = 'E_INTERNAL';

/** Job ids become file names and Redis keys: keep them to a safe alphabet. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function assertJobId(id: string): void {
  if (typeof id !== 'string' || !JOB_ID.test(id) || id.includes('..')) {
    throw new TypeError(`job id: expected 1-128 characters of [A-Za-z0-9_.-] starting with a letter or digit, received ${JSON.stringify(id)}`);
  }
}

export function isFinished(status: JobStatus): boolean {
  return status === 'success' || status === 'error';
}

/**
 * The message and code recorded for a failed job: the code as errors-http.ts knows it (the one
 * mapping of errors to answers), anything else `E_INTERNAL`. The message is kept: the runtime has
 * already replaced the messages of internal errors before they reach the queue.
 */
export function errorFields(err: unknown): { error: string; errorCode: string } {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : 'job failed';
  return { error: message || 'job failed', errorCode: errorCodeOf(err) ?? INTERNAL_ERROR_CODE };
}

export function cloneRecord(record: JobRecord): JobRecord {
  return structuredClone(record);
}

export function assertConcurrency(concurrency: number): void {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency: expected an integer >= 1, received ${String(concurrency)}`);
  }
}

/** Calls a finished-listener without letting its failure (sync or async) reach the queue. */
export function callListener(listener: (job: JobRecord) => void, job: JobRecord, onError?: (err: unknown) => void): void {
  try {
    const result = listener(cloneRecord(job)) as unknown;
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => onError?.(err));
    }
  } catch (err) {
    onError?.(err);
  }
}

/**
 * Resolves after `ms`. The timer is unref'd: it only bounds a wait (a grace period), so it must
 * not keep a process alive that has nothing else left to do.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
