/**
 * The seams of the server: the HTTP layer talks to these interfaces only, so the queue (embedded
 * or BullMQ), the storage (local disk or S3) and the network guard can be swapped and tested on
 * their own.
 */

/** What a client asked for, normalised (defaults filled, `init_image` folded into `url`). */
export interface JobInput {
  url: string;
  /** Output scale; undefined = the model's native scale. */
  scale?: number;
  modelId: string;
  faceEnhance: boolean;
  webhook?: string;
  trackId?: string;
}

export interface EnqueueOptions {
  /** Most queued or running jobs the job's key may have, this one included. */
  perKeyLimit?: number;
}

export type JobStatus = 'queued' | 'processing' | 'success' | 'error';

export interface JobRecord {
  id: string;
  /** Stable, non-secret id of the API key that submitted the job (for per-key limits). */
  keyId: string;
  status: JobStatus;
  input: JobInput;
  /** Public URL of the result, when status is success. */
  output?: string;
  /** Message for the client, when status is error. */
  error?: string;
  /** Error code (E_...), when status is error. */
  errorCode?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Seconds spent processing, when finished. */
  generationTime?: number;
  attempts: number;
}

export interface JobResult {
  output: string;
  generationTime: number;
}

/** Runs one job: fetch, decode, upscale, encode, store. Throws SuperresError on failure. */
export type JobProcessor = (job: JobRecord, signal: AbortSignal) => Promise<JobResult>;

export interface JobQueue {
  /**
   * Persists and enqueues; the record must survive a restart of this process. With
   * `perKeyLimit`, the count of the key's pending jobs and the insertion are one atomic step
   * (concurrent requests cannot overshoot it): at the limit it throws PerKeyLimitError.
   */
  enqueue(job: JobRecord, options?: EnqueueOptions): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Jobs of this key that are queued or processing (for the per-key limit). */
  countPending(keyId: string): Promise<number>;
  /** Resolves with the record once it is finished (success or error), or with the current record at the timeout. */
  waitFor(id: string, timeoutMs: number): Promise<JobRecord | undefined>;
  /** Starts consuming with at most `concurrency` jobs at once (a server with an embedded queue, or a worker). */
  startWorker(processor: JobProcessor, options: { concurrency: number }): Promise<void>;
  /** Jobs queued ahead of this one (for eta), or 0. */
  position(id: string): Promise<number>;
  /** Stops taking jobs; running jobs finish (or go back to the queue at `graceMs`). */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Whether the queue can persist a job right now (for /readyz): a probe write. */
  writable(): Promise<boolean>;
  /** Called with each finished record (for webhooks); may be called in any process that ran it. */
  onFinished(listener: (job: JobRecord) => void): void;
}

export interface ClearOptions {
  olderThanMs?: number;
}

export interface StoredObject {
  /** The public URL clients download the object from. */
  url: string;
  key: string;
}

export interface Storage {
  put(key: string, bytes: Uint8Array, contentType: string): Promise<StoredObject>;
  /**
   * Deletes what this storage wrote (`clear_cache`), or with `olderThanMs` only the objects
   * written longer ago than that (SUPERRES_OUTPUT_TTL). Returns how many objects went.
   */
  clear(options?: ClearOptions): Promise<number>;
  /**
   * When `url` is the public URL of an object this storage wrote (an upload or an output), its
   * bytes, read from the storage itself (no network fetch, so the URL guard need not allow this
   * server's own address); undefined for any other URL. Refuses objects over `maxBytes`.
   */
  readOwn?(url: string, maxBytes: number): Promise<Uint8Array | undefined>;
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs: number;
  /** Allow private, loopback and link-local addresses (SUPERRES_ALLOW_PRIVATE_URLS). */
  allowPrivate: boolean;
  maxRedirects?: number;
}

export interface WebhookPayload {
  status: 'success' | 'error';
  id: string;
  output: string;
  generationTime?: number;
  track_id?: string;
  message?: string;
}
