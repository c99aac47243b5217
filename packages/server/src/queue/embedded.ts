/**
 * The embedded job queue: in-process, no external service. Every job record is a JSON file under
 * `<dataDir>/jobs/<id>.json`, written atomically (temporary file, fsync, rename), so a restart of
 * the process loses nothing: at start, `queued` records are queued again and records left in
 * `processing` (the process died mid-job) go back to `queued`, oldest first.
 *
 * Memory is bounded whatever the history: only unfinished records stay in memory (and the last
 * RECENT_FINISHED finished ones, which clients poll); older finished records are read from disk
 * when asked for, and deleted `retentionMs` after they finished.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isTempName, writeFileAtomic } from '@superres/models/node';
import { join } from 'node:path';
import type { JobProcessor, JobQueue, JobRecord, JobResult } from '../contracts.js';
import { probeWritable } from '../probe-write.js';
import { assertConcurrency, assertJobId, callListener, cloneRecord, errorFields, INTERNAL_ERROR_CODE, isFinished, PerKeyLimitError, sleep } from './common.js';

export interface EmbeddedQueueOptions {
  /** The data directory (SUPERRES_DATA_DIR); records live in `<dataDir>/jobs/`. */
  dataDir: string;
  /**
   * A record found in `processing` at start whose `attempts` already reached this number is
   * failed (`E_INTERNAL`) instead of being run again, so a job that kills the process cannot
   * crash-loop it. Default 3.
   */
  maxAttempts?: number;
  /** fsync each record before renaming it into place (survives power loss, not only a crash). Default true. */
  fsync?: boolean;
  /** How long `close()` waits, after aborting the running jobs at the grace period's end, for their processors to settle. Default 2000 ms. */
  abortSettleMs?: number;
  /** Told about failures that have no caller to throw to: a finished-listener throwing, an unreadable record file. */
  onError?: (err: unknown) => void;
  /** Finished records are deleted this long after they finished (0: kept forever). Default 7 days. */
  retentionMs?: number;
  /** How often finished records past `retentionMs` are swept. Default 1 hour. */
  pruneIntervalMs?: number;
}

export interface EmbeddedQueue extends JobQueue {
  /** Resolves once the records on disk are loaded (every method waits for it anyway). */
  ready(): Promise<void>;
  /** Deletes finished (success or error) records that finished more than `ms` milliseconds ago. Returns how many went. */
  pruneOlderThan(ms: number): Promise<number>;
  /** The directory the records are written to. */
  readonly jobsDir: string;
  /** Records held in memory: the unfinished ones and at most RECENT_FINISHED finished ones. */
  heldRecords(): number;
}

interface Entry {
  record: JobRecord;
  /** Enqueue order, the tie-break of createdAt (persisted, so FIFO survives a restart). */
  seq: number;
}

interface Running {
  controller: AbortController;
  promise: Promise<void>;
  /** Set by close() when the processor did not settle in time: its late outcome is ignored. */
  abandoned: boolean;
  /** The processor has settled; only its outcome is still being written. */
  settled: boolean;
}

interface StoredFile {
  seq: number;
  record: JobRecord;
}

const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_RETENTION_MS = 7 * 24 * 3600_000;
/** Finished records kept in memory for clients still polling them; older ones are read from disk. */
export const RECENT_FINISHED = 1000;
/** A finished record that cannot be written is retried this often (it is not reported finished until written). */
const FINAL_WRITE_RETRY_MS = [100, 500, 2000, 5000];

function before(a: Entry, b: Entry): boolean {
  return a.record.createdAt < b.record.createdAt || (a.record.createdAt === b.record.createdAt && a.seq < b.seq);
}

function isJobResult(value: unknown): value is JobResult {
  return typeof value === 'object' && value !== null && typeof (value as JobResult).output === 'string';
}

export function createEmbeddedQueue(options: EmbeddedQueueOptions): EmbeddedQueue {
  if (!options || typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new TypeError(`dataDir: expected a directory path, received ${JSON.stringify(options?.dataDir)}`);
  }
  const jobsDir = join(options.dataDir, 'jobs');
  const maxAttempts = options.maxAttempts ?? 3;
  const doFsync = options.fsync ?? true;
  const abortSettleMs = options.abortSettleMs ?? 2000;
  const onError = options.onError;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const pruneIntervalMs = options.pruneIntervalMs ?? 3600_000;

  /** Unfinished records, and finished ones still being handed out (see `recent`). */
  const entries = new Map<string, Entry>();
  /** Ids of the newest finished records, oldest first; they stay in `entries` until pushed out. */
  const recent: string[] = [];
  /** Ids of queued records, in FIFO order (createdAt, then seq). */
  const pending: string[] = [];
  const pendingByKey = new Map<string, number>();
  const running = new Map<string, Running>();
  const writes = new Map<string, Promise<void>>();
  const waiters = new Map<string, Set<() => void>>();
  const listeners: Array<(job: JobRecord) => void> = [];
  let processor: JobProcessor | undefined;
  let concurrency = 1;
  let closing = false;
  let closed: Promise<void> | undefined;
  let seqCounter = 0;

  const fileOf = (id: string) => join(jobsDir, `${id}.json`);

  function countKey(keyId: string, delta: number): void {
    const next = (pendingByKey.get(keyId) ?? 0) + delta;
    if (next > 0) pendingByKey.set(keyId, next);
    else pendingByKey.delete(keyId);
  }

  function insertPending(entry: Entry): void {
    // Usually an append: walk back from the end to the first entry that is not after this one.
    let i = pending.length;
    while (i > 0) {
      const other = entries.get(pending[i - 1]!);
      if (!other || !before(entry, other)) break;
      i--;
    }
    pending.splice(i, 0, entry.record.id);
  }

  function writeAtomic(id: string, body: string): Promise<void> {
    return writeFileAtomic(fileOf(id), body, { mode: 0o600, fsync: doFsync });
  }

  /** Writes `record` (default: the entry's record as it is now); writes of one record happen in call order. */
  function persist(entry: Entry, record: JobRecord = entry.record): Promise<void> {
    const id = record.id;
    const body = JSON.stringify({ seq: entry.seq, record } satisfies StoredFile, null, 2);
    const previous = writes.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => writeAtomic(id, body));
    const tracked = next.catch(() => undefined);
    writes.set(id, tracked);
    void tracked.then(() => {
      if (writes.get(id) === tracked) writes.delete(id);
    });
    return next;
  }

  function notifyFinished(entry: Entry): void {
    const set = waiters.get(entry.record.id);
    if (set) {
      waiters.delete(entry.record.id);
      for (const wake of set) wake();
    }
    for (const listener of listeners) callListener(listener, entry.record, onError);
  }

  async function load(): Promise<void> {
    await mkdir(jobsDir, { recursive: true });
    const names = await readdir(jobsDir);
    const loaded: Entry[] = [];
    for (const name of names) {
      if (isTempName(name)) {
        // A write interrupted by a crash; the previous version of the record is still in place.
        await rm(join(jobsDir, name), { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const stored = JSON.parse(await readFile(join(jobsDir, name), 'utf8')) as StoredFile;
        if (!stored?.record || typeof stored.record.id !== 'string' || `${stored.record.id}.json` !== name) {
          throw new Error('not a job record');
        }
        loaded.push({ record: stored.record, seq: typeof stored.seq === 'number' ? stored.seq : 0 });
      } catch (err) {
        onError?.(new Error(`embedded queue: skipping unreadable record ${join(jobsDir, name)}`, { cause: err }));
      }
    }
    loaded.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    for (const entry of loaded) {
      seqCounter = Math.max(seqCounter, entry.seq);
      const record = entry.record;
      // Finished records stay on disk (read on demand); only the work left is kept in memory.
      if (isFinished(record.status)) continue;
      entries.set(record.id, entry);
      if (record.status === 'processing') {
        if (record.attempts >= maxAttempts) {
          record.status = 'error';
          record.error = `the job was interrupted ${record.attempts} times (the process stopped while running it); giving up`;
          record.errorCode = INTERNAL_ERROR_CODE;
          record.finishedAt = Date.now();
          await persist(entry);
          entries.delete(record.id);
          continue;
        }
        record.status = 'queued';
        delete record.startedAt;
        await persist(entry);
      }
      if (record.status === 'queued') {
        pending.push(record.id);
        countKey(record.keyId, 1);
      }
    }
  }

  const loading = load();
  // Surface load failures through every method, not as an unhandled rejection.
  loading.catch(() => undefined);

  function pump(): void {
    while (!closing && processor && running.size < concurrency && pending.length > 0) {
      const id = pending.shift()!;
      const entry = entries.get(id);
      if (!entry || entry.record.status !== 'queued') continue;
      start(entry, processor);
    }
  }

  function start(entry: Entry, run: JobProcessor): void {
    const record = entry.record;
    record.status = 'processing';
    record.startedAt = Date.now();
    record.attempts += 1;
    delete record.error;
    delete record.errorCode;
    const controller = new AbortController();
    const slot: Running = { controller, abandoned: false, settled: false, promise: Promise.resolve() };
    running.set(record.id, slot);
    slot.promise = (async () => {
      let outcome: { ok: true; result: unknown } | { ok: false; err: unknown };
      try {
        await persist(entry);
        outcome = { ok: true, result: await run(cloneRecord(record), controller.signal) };
      } catch (err) {
        outcome = { ok: false, err };
      }
      slot.settled = true;
      if (slot.abandoned) return;
      if (!outcome.ok && controller.signal.aborted && closing) {
        // Stopped by close() at the end of the grace period: back to the queue, not an error.
        record.status = 'queued';
        delete record.startedAt;
        await persist(entry).catch(onError);
        return;
      }
      // The finished record becomes visible (get, waitFor, listeners) once it is on disk.
      const finishedAt = Date.now();
      const next: JobRecord = { ...record, finishedAt };
      if (outcome.ok && isJobResult(outcome.result)) {
        next.status = 'success';
        next.output = outcome.result.output;
        next.generationTime =
          typeof outcome.result.generationTime === 'number' ? outcome.result.generationTime : (finishedAt - (record.startedAt ?? finishedAt)) / 1000;
      } else {
        const fields = outcome.ok
          ? { error: 'the job processor returned no output', errorCode: INTERNAL_ERROR_CODE }
          : errorFields(outcome.err);
        next.status = 'error';
        next.error = fields.error;
        next.errorCode = fields.errorCode;
        next.generationTime = (finishedAt - (record.startedAt ?? finishedAt)) / 1000;
      }
      // Reported finished only once on disk: a result the client saw must survive a restart
      // (an error it was told about must not turn into a success when the job reruns).
      if (!(await persistFinal(entry, next, slot))) return;
      entry.record = next;
      countKey(next.keyId, -1);
      remember(entry);
      notifyFinished(entry);
    })().finally(() => {
      if (running.get(record.id) === slot) running.delete(record.id);
      pump();
    });
  }

  /** Writes a finished record, retrying while the process runs; false if given up (closing). */
  async function persistFinal(entry: Entry, next: JobRecord, slot: Running): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await persist(entry, next);
        return true;
      } catch (err) {
        onError?.(new Error(`embedded queue: could not write the outcome of job ${next.id}; retrying`, { cause: err }));
        if (closing || slot.abandoned) return false; // on disk it is still running: it reruns after a restart
        await sleep(FINAL_WRITE_RETRY_MS[Math.min(attempt, FINAL_WRITE_RETRY_MS.length - 1)]!);
      }
    }
  }

  /** Keeps a finished record in memory among the newest RECENT_FINISHED; the oldest leaves. */
  function remember(entry: Entry): void {
    recent.push(entry.record.id);
    while (recent.length > RECENT_FINISHED) {
      const old = recent.shift()!;
      if (isFinished(entries.get(old)?.record.status ?? 'queued')) entries.delete(old);
    }
  }

  /** A record from disk (finished ones are not kept in memory), or undefined. */
  async function readRecord(id: string): Promise<JobRecord | undefined> {
    try {
      assertJobId(id);
    } catch {
      return undefined;
    }
    try {
      const stored = JSON.parse(await readFile(fileOf(id), 'utf8')) as StoredFile;
      return stored?.record?.id === id ? stored.record : undefined;
    } catch {
      return undefined;
    }
  }

  async function prune(ms: number): Promise<number> {
    await loading;
    const cutoff = Date.now() - ms;
    let removed = 0;
    for (const name of await readdir(jobsDir)) {
      if (!name.endsWith('.json') || isTempName(name)) continue;
      const id = name.slice(0, -'.json'.length);
      const entry = entries.get(id);
      if ((entry && !isFinished(entry.record.status)) || writes.has(id)) continue;
      // A finished record's last write is its finish: the file's time says when it finished.
      const info = await stat(fileOf(id)).catch(() => undefined);
      if (!info || info.mtimeMs >= cutoff) continue;
      const record = entry?.record ?? (await readRecord(id));
      if (record && (!isFinished(record.status) || (record.finishedAt ?? 0) >= cutoff)) continue;
      entries.delete(id);
      await rm(fileOf(id), { force: true });
      removed++;
    }
    return removed;
  }

  const pruneTimer =
    retentionMs > 0
      ? setInterval(() => {
          prune(retentionMs).catch(onError);
        }, pruneIntervalMs).unref()
      : undefined;
  if (retentionMs > 0) void loading.then(() => prune(retentionMs)).catch(onError);

  async function closeNow(graceMs: number): Promise<void> {
    if (pruneTimer) clearInterval(pruneTimer);
    await loading.catch(() => undefined);
    const settled = () => Promise.allSettled([...running.values()].map((r) => r.promise));
    if (running.size > 0) await Promise.race([settled(), sleep(graceMs)]);
    if (running.size > 0) {
      const reason = new Error('the queue is closing');
      reason.name = 'AbortError';
      for (const slot of running.values()) slot.controller.abort(reason);
      await Promise.race([settled(), sleep(abortSettleMs)]);
      // Processors that ignore their signal: their jobs go back to the queue on disk anyway.
      for (const [id, slot] of running) {
        if (slot.settled) continue; // only writing its outcome: let it
        slot.abandoned = true;
        running.delete(id);
        const entry = entries.get(id);
        if (entry && entry.record.status === 'processing') {
          entry.record.status = 'queued';
          delete entry.record.startedAt;
          await persist(entry).catch(onError);
        }
      }
    }
    await Promise.allSettled([...running.values()].map((r) => r.promise));
    await Promise.allSettled([...writes.values()]);
    // Nobody will finish these jobs in this process: answer the waiters with what is known now.
    for (const [id, set] of waiters) {
      waiters.delete(id);
      for (const wake of set) wake();
    }
  }

  const queue: EmbeddedQueue = {
    jobsDir,

    ready: () => loading,

    async enqueue(job, enqueueOptions) {
      await loading;
      assertJobId(job.id);
      if (entries.has(job.id)) throw new Error(`job ${job.id} already exists`);
      // Checked and counted with no await in between: concurrent requests cannot overshoot it.
      const limit = enqueueOptions?.perKeyLimit;
      const pendingNow = pendingByKey.get(job.keyId) ?? 0;
      if (limit !== undefined && pendingNow >= limit) throw new PerKeyLimitError(pendingNow, limit);
      const record: JobRecord = { ...cloneRecord(job), status: 'queued', attempts: job.attempts ?? 0 };
      const entry: Entry = { record, seq: ++seqCounter };
      entries.set(record.id, entry);
      countKey(record.keyId, 1);
      try {
        await persist(entry);
      } catch (err) {
        entries.delete(record.id);
        countKey(record.keyId, -1);
        throw err;
      }
      insertPending(entry);
      pump();
    },

    async get(id) {
      await loading;
      const entry = entries.get(id);
      return entry ? cloneRecord(entry.record) : readRecord(id);
    },

    async countPending(keyId) {
      await loading;
      return pendingByKey.get(keyId) ?? 0;
    },

    async waitFor(id, timeoutMs) {
      await loading;
      const entry = entries.get(id);
      if (!entry) return readRecord(id);
      if (!isFinished(entry.record.status) && timeoutMs > 0 && !closed) {
        await new Promise<void>((resolve) => {
          let set = waiters.get(id);
          if (!set) waiters.set(id, (set = new Set()));
          const wake = () => {
            clearTimeout(timer);
            set.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, timeoutMs);
          set.add(wake);
        });
      }
      return cloneRecord(entry.record);
    },

    async startWorker(run, workerOptions) {
      await loading;
      assertConcurrency(workerOptions.concurrency);
      if (closing) throw new Error('the queue is closed');
      if (processor) throw new Error('a worker is already running on this queue');
      processor = run;
      concurrency = workerOptions.concurrency;
      pump();
    },

    async position(id) {
      await loading;
      const entry = entries.get(id);
      if (!entry || entry.record.status !== 'queued') return 0;
      const index = pending.indexOf(id);
      return index < 0 ? 0 : index;
    },

    close(closeOptions) {
      if (!closed) {
        closing = true;
        closed = closeNow(Math.max(0, closeOptions?.graceMs ?? DEFAULT_GRACE_MS));
      }
      return closed;
    },

    onFinished(listener) {
      listeners.push(listener);
    },

    pruneOlderThan: prune,

    heldRecords: () => entries.size,

    async writable() {
      await loading.catch(() => undefined);
      return probeWritable(jobsDir);
    },
  };
  return queue;
}
