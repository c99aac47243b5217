/**
 * The BullMQ job queue: jobs on Redis, any number of worker processes.
 *
 * - A BullMQ job per record: job id = record id, job data = the JobRecord (updated when a worker
 *   starts it and when it fails), return value = the JobResult. The BullMQ state is the truth for
 *   the status (waiting/delayed -> queued, active -> processing, completed -> success,
 *   failed -> error), so `get(id)` answers a full record from any process.
 * - `countPending(keyId)`: a Redis sorted set of job ids (scored by enqueue time) per key (`<prefix>:<queue>:superres:pending:<keyId>`),
 *   added to on enqueue, removed from when a job completes or fails, and checked against the
 *   jobs' states when read (so a worker killed between finishing a job and updating the set
 *   cannot leave a key counted forever).
 * - Workers hold a lock (`lockDuration`) they renew while a job runs; a worker that dies mid-job
 *   stops renewing it and another worker's stalled-job check puts the job back in the wait list,
 *   where it runs again. BullMQ refuses to complete a job whose lock is not held, so a job is
 *   completed once.
 * - `onFinished` listeners are fed from QueueEvents; each finished job is handed to the listeners
 *   of ONE process (the first to claim it with SET NX), so webhooks are not sent twice by two API
 *   processes.
 */
import { Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobProcessor, JobQueue, JobRecord, JobResult } from '../contracts.js';
import { assertConcurrency, assertJobId, callListener, errorFields, INTERNAL_ERROR_CODE, isFinished, PerKeyLimitError, sleep } from './common.js';

export interface BullmqQueueOptions {
  /** `redis://[user:pass@]host:port[/db]` (SUPERRES_REDIS_URL). */
  redisUrl: string;
  /** BullMQ queue name; default `superres`. */
  queueName?: string;
  /** BullMQ key prefix; default `bull`. */
  prefix?: string;
  /** How long a worker's lock on a running job lasts without renewal; default 30 000 ms. */
  lockDuration?: number;
  /** How often workers look for stalled jobs (lock expired); default 15 000 ms. */
  stalledInterval?: number;
  /** How many times a job may stall (its worker died) before it fails; default 2 (at least 1). */
  maxStalledCount?: number;
  /** Finished jobs are kept this long, then BullMQ removes them; 0 keeps them; default 7 days. */
  keepFinishedMs?: number;
  /** `waitFor` re-reads the job this often in case an event was missed; default 1000 ms. */
  pollIntervalMs?: number;
  /** How long `close()` waits, after aborting running jobs at the grace period's end, for their processors to settle; default 2000 ms. */
  abortSettleMs?: number;
  /** Told about failures that have no caller to throw to (Redis connection errors, a listener throwing). */
  onError?: (err: unknown) => void;
}

export interface BullmqQueue extends JobQueue {
  /** Resolves when the Redis connections are ready. */
  ready(): Promise<void>;
  /** Removes finished jobs that finished more than `ms` ago. Returns how many went. */
  pruneOlderThan(ms: number): Promise<number>;
  readonly queueName: string;
  readonly prefix: string;
}

const JOB_NAME = 'super_resolution';
const DEFAULT_GRACE_MS = 30_000;
/** Adds ARGV[1] to the set KEYS[1] unless it holds ARGV[2] members already; returns -1 if added, else the count. */
const ADD_UNDER_LIMIT = `
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[2]) then return n end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return -1
`;

/**
 * A member whose job BullMQ does not know is dropped only when older than this: between the
 * count and queue.add, a job being enqueued is such a member and must stay counted.
 */
const UNKNOWN_GRACE_MS = 60_000;

/** countPending checks members against job states when the set is at most this big. */
const VERIFY_LIMIT = 200;

function isValidId(id: string): boolean {
  try {
    assertJobId(id);
    return true;
  } catch {
    return false;
  }
}

export type AnyJob = Job<JobRecord, JobResult, string>;

/** The record a job stands for, its status taken from the BullMQ state. */
function toRecord(job: AnyJob, state: string): JobRecord | undefined {
  if (!job.data || typeof job.data !== 'object') return undefined;
  const record: JobRecord = { ...job.data, input: { ...job.data.input } };
  switch (state) {
    case 'completed': {
      const result = job.returnvalue as JobResult | undefined;
      record.status = 'success';
      if (result?.output !== undefined) record.output = result.output;
      if (typeof result?.generationTime === 'number') record.generationTime = result.generationTime;
      if (job.finishedOn) record.finishedAt = job.finishedOn;
      delete record.error;
      delete record.errorCode;
      break;
    }
    case 'failed':
      record.status = 'error';
      record.error = record.error ?? (job.failedReason || 'job failed');
      record.errorCode = record.errorCode ?? INTERNAL_ERROR_CODE;
      if (job.finishedOn) record.finishedAt = job.finishedOn;
      break;
    case 'active':
      record.status = 'processing';
      break;
    case 'unknown':
      return undefined;
    default:
      // waiting, prioritized, delayed, paused: back in (or not yet out of) the queue.
      record.status = 'queued';
      delete record.startedAt;
      break;
  }
  return record;
}

/** The two reads a record takes (separate Redis calls: a job may complete between them). */
export interface JobReads {
  state(id: string): Promise<string>;
  job(id: string): Promise<AnyJob | undefined>;
}

/**
 * A job's record from its state and its data. The state is read first: a job that completes
 * between the two reads is then seen as still running, never as completed without its result
 * (read the other way round, `fetch` answered such a job as a success with no output).
 */
export async function readJobRecord(id: string, reads: JobReads): Promise<JobRecord | undefined> {
  const state = await reads.state(id);
  const job = await reads.job(id);
  return job ? toRecord(job, state) : undefined;
}

export function createBullmqQueue(options: BullmqQueueOptions): BullmqQueue {
  if (!options || typeof options.redisUrl !== 'string' || !/^rediss?:\/\//.test(options.redisUrl)) {
    throw new TypeError(`redisUrl: expected redis://host:port or rediss://..., received ${JSON.stringify(options?.redisUrl)}`);
  }
  const redisUrl = options.redisUrl;
  const queueName = options.queueName ?? 'superres';
  const prefix = options.prefix ?? 'bull';
  const lockDuration = options.lockDuration ?? 30_000;
  const stalledInterval = options.stalledInterval ?? Math.max(1000, Math.floor(lockDuration / 2));
  const maxStalledCount = Math.max(1, options.maxStalledCount ?? 2);
  const keepFinishedMs = options.keepFinishedMs ?? 7 * 24 * 3600_000;
  // 0 keeps finished jobs; the notification claims then expire after a week all the same.
  const keepSeconds = Math.max(1, Math.round((keepFinishedMs || 7 * 24 * 3600_000) / 1000));
  const removeFinished = keepFinishedMs > 0 ? { age: keepSeconds } : false;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const abortSettleMs = options.abortSettleMs ?? 2000;
  const onError = options.onError;
  const report = (err: unknown) => onError?.(err);

  const ownKey = (suffix: string) => `${prefix}:${queueName}:superres:${suffix}`;
  const pendingKey = (keyId: string) => ownKey(`pending:${keyId}`);
  const claimKey = (id: string) => ownKey(`notified:${id}`);

  const queue = new Queue<JobRecord, JobResult, string>(queueName, {
    connection: { url: redisUrl },
    prefix,
    defaultJobOptions: {
      attempts: 1,
      removeOnComplete: removeFinished,
      removeOnFail: removeFinished,
    },
  });
  queue.on('error', report);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', report);

  let events: QueueEvents | undefined;
  let eventsReady: Promise<void> | undefined;
  const waiters = new Map<string, Set<() => void>>();
  const listeners: Array<(job: JobRecord) => void> = [];
  let worker: Worker<JobRecord, JobResult, string> | undefined;
  const running = new Set<Promise<unknown>>();
  let abortingForClose = false;
  let closed: Promise<void> | undefined;

  async function countPending(keyId: string): Promise<number> {
    const key = pendingKey(keyId);
    const flat = await redis.zrange(key, '0', '-1', 'WITHSCORES');
    const members = flat.filter((_, i) => i % 2 === 0);
    if (members.length === 0 || members.length > VERIFY_LIMIT) return members.length;
    const addedAt = flat.filter((_, i) => i % 2 === 1).map(Number);
    const states = await Promise.all(members.map((id) => queue.getJobState(id)));
    const now = Date.now();
    const stale = members.filter((_, i) => {
      const state = states[i]!;
      return state === 'completed' || state === 'failed' || (state === 'unknown' && now - addedAt[i]! > UNKNOWN_GRACE_MS);
    });
    if (stale.length > 0) await redis.zrem(key, ...stale);
    return members.length - stale.length;
  }

  async function get(id: string): Promise<JobRecord | undefined> {
    if (!isValidId(id)) return undefined;
    return readJobRecord(id, {
      state: (jobId) => queue.getJobState(jobId),
      job: async (jobId) => (await queue.getJob(jobId)) as AnyJob | undefined,
    });
  }

  function wake(id: string): void {
    const set = waiters.get(id);
    if (!set) return;
    waiters.delete(id);
    for (const fn of set) fn();
  }

  async function deliver(id: string): Promise<void> {
    if (listeners.length === 0) return;
    // One process delivers each finished job, whichever claims it first.
    const claimed = await redis.set(claimKey(id), '1', 'EX', keepSeconds, 'NX');
    if (claimed !== 'OK') return;
    const record = await get(id);
    if (!record || !isFinished(record.status)) return;
    for (const listener of listeners) callListener(listener, record, report);
  }

  function ensureEvents(): Promise<void> {
    if (!eventsReady) {
      events = new QueueEvents(queueName, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix });
      events.on('error', report);
      const finished = ({ jobId }: { jobId: string }) => {
        wake(jobId);
        deliver(jobId).catch(report);
      };
      events.on('completed', finished);
      events.on('failed', finished);
      eventsReady = events.waitUntilReady().then(() => undefined);
    }
    return eventsReady;
  }

  async function forgetPending(job: AnyJob | undefined): Promise<void> {
    if (!job?.id || !job.data?.keyId) return;
    await redis.zrem(pendingKey(job.data.keyId), job.id);
  }

  async function runJob(job: AnyJob, token: string | undefined, signal: AbortSignal, processor: JobProcessor): Promise<JobResult> {
    const started: JobRecord = {
      ...job.data,
      status: 'processing',
      startedAt: Date.now(),
      attempts: (job.data.attempts ?? 0) + 1,
    };
    delete started.error;
    delete started.errorCode;
    await job.updateData(started);
    let result: JobResult;
    try {
      result = await processor({ ...started, input: { ...started.input } }, signal);
      if (!result || typeof result.output !== 'string') {
        throw Object.assign(new Error('the job processor returned no output'), { code: INTERNAL_ERROR_CODE });
      }
    } catch (err) {
      if (signal.aborted && abortingForClose) {
        // Stopped by close() at the end of the grace period: back to the queue, not an error.
        const requeued: JobRecord = { ...started, status: 'queued' };
        delete requeued.startedAt;
        await job.updateData(requeued);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const finishedAt = Date.now();
      const fields = errorFields(err);
      await job.updateData({ ...started, status: 'error', ...fields, finishedAt, generationTime: (finishedAt - started.startedAt!) / 1000 });
      throw new UnrecoverableError(fields.error);
    }
    return {
      output: result.output,
      generationTime: typeof result.generationTime === 'number' ? result.generationTime : (Date.now() - started.startedAt!) / 1000,
    };
  }

  async function closeNow(graceMs: number): Promise<void> {
    if (worker) {
      const w = worker;
      // Stop taking jobs, let the running ones finish within the grace period.
      await w.pause(true).catch(report);
      const settled = () => Promise.allSettled([...running]);
      if (running.size > 0) await Promise.race([settled(), sleep(graceMs)]);
      if (running.size > 0) {
        abortingForClose = true;
        w.cancelAllJobs('the queue is closing');
        await Promise.race([settled(), sleep(abortSettleMs)]);
      }
      // Force only when a processor ignored its signal: its lock then expires and another worker
      // (or this one after a restart) picks the job up as stalled.
      await w.close(running.size > 0).catch(report);
    }
    for (const set of waiters.values()) for (const fn of set) fn();
    waiters.clear();
    await Promise.allSettled([events?.close(), queue.close()]);
    redis.disconnect();
  }

  const api: BullmqQueue = {
    queueName,
    prefix,

    async ready() {
      await Promise.all([queue.waitUntilReady(), redis.ping()]);
    },

    async enqueue(job, enqueueOptions) {
      assertJobId(job.id);
      if (await queue.getJob(job.id)) throw new Error(`job ${job.id} already exists`);
      const record: JobRecord = { ...job, input: { ...job.input }, status: 'queued', attempts: job.attempts ?? 0 };
      const limit = enqueueOptions?.perKeyLimit;
      if (limit === undefined) {
        await redis.zadd(pendingKey(record.keyId), Date.now(), record.id);
      } else {
        // Finished members are dropped first; then one script counts and adds (atomic in Redis),
        // so API processes taking requests of one key at once cannot overshoot the limit.
        await countPending(record.keyId);
        const counted = Number(await redis.eval(ADD_UNDER_LIMIT, 1, pendingKey(record.keyId), record.id, String(limit), String(Date.now())));
        if (counted >= 0) throw new PerKeyLimitError(counted, limit);
      }
      try {
        await queue.add(JOB_NAME, record, { jobId: record.id });
      } catch (err) {
        await redis.zrem(pendingKey(record.keyId), record.id).catch(report);
        throw err;
      }
    },

    get,

    countPending,

    async writable() {
      // A write, not a ping: a Redis that refuses writes (out of memory, a read-only replica,
      // a failed snapshot with stop-writes-on-bgsave-error) still answers PING.
      return redis.set(ownKey('readyz'), String(Date.now()), 'EX', 60).then(
        () => true,
        () => false,
      );
    },

    async waitFor(id, timeoutMs) {
      if (!isValidId(id)) return undefined;
      if (timeoutMs <= 0 || closed) return get(id);
      await ensureEvents();
      let wakeUp: () => void = () => undefined;
      const woken = new Promise<void>((resolve) => (wakeUp = resolve));
      let set = waiters.get(id);
      if (!set) waiters.set(id, (set = new Set()));
      set.add(wakeUp);
      const deadline = Date.now() + timeoutMs;
      try {
        // Subscribed first, then read: a job finishing in between is not missed.
        for (;;) {
          const record = await get(id);
          if (!record || isFinished(record.status)) return record;
          const left = deadline - Date.now();
          if (left <= 0) return record;
          let timer: NodeJS.Timeout | undefined;
          const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(resolve, Math.min(left, pollIntervalMs), 'tick')));
          const why = await Promise.race([woken.then(() => 'woken' as const), tick]);
          clearTimeout(timer);
          if (why === 'woken') return get(id);
        }
      } finally {
        set.delete(wakeUp);
        if (set.size === 0 && waiters.get(id) === set) waiters.delete(id);
      }
    },

    async startWorker(processor, workerOptions) {
      assertConcurrency(workerOptions.concurrency);
      if (closed) throw new Error('the queue is closed');
      if (worker) throw new Error('a worker is already running on this queue');
      const w = new Worker<JobRecord, JobResult, string>(
        queueName,
        (job, token, signal) => {
          const p = runJob(job as AnyJob, token, signal ?? new AbortController().signal, processor);
          running.add(p);
          const forget = () => running.delete(p);
          p.then(forget, forget);
          return p;
        },
        {
          connection: { url: redisUrl, maxRetriesPerRequest: null },
          prefix,
          concurrency: workerOptions.concurrency,
          lockDuration,
          stalledInterval,
          maxStalledCount,
          autorun: false,
        },
      );
      worker = w;
      w.on('error', report);
      w.on('completed', (job) => void forgetPending(job as AnyJob).catch(report));
      w.on('failed', (job) => void forgetPending(job as AnyJob | undefined).catch(report));
      void w.run().catch(report);
      await w.waitUntilReady();
    },

    async position(id) {
      if (!isValidId(id)) return 0;
      const waitKey = queue.keys['wait'];
      if (!waitKey) return 0;
      // Jobs are LPUSHed and taken from the right: those ahead are to the right of this one.
      const [index, length] = await Promise.all([redis.lpos(waitKey, id), redis.llen(waitKey)]);
      if (index === null || index === undefined) return 0;
      return Math.max(0, length - 1 - Number(index));
    },

    close(closeOptions) {
      if (!closed) closed = closeNow(Math.max(0, closeOptions?.graceMs ?? DEFAULT_GRACE_MS));
      return closed;
    },

    onFinished(listener) {
      listeners.push(listener);
      ensureEvents().catch(report);
    },

    async pruneOlderThan(ms) {
      const grace = Math.max(0, ms);
      const [done, failed] = await Promise.all([queue.clean(grace, 0, 'completed'), queue.clean(grace, 0, 'failed')]);
      return done.length + failed.length;
    },
  };
  return api;
}
