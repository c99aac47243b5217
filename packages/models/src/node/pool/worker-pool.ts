/**
 * A pool of worker threads that own the ONNX Runtime sessions and convert checkpoints.
 *
 * Why our own and not piscina: a session lives in a worker, so tasks have affinity (a run goes
 * to a worker that has its model open, and opens it there first when none has), sessions are
 * state shared by many tasks, and an ONNX Runtime run must never be interrupted: terminating a
 * worker inside `run()` aborts the whole process (measured: SIGABRT from a Napi::Error in
 * onnxruntime-node 1.30). So cancellation here answers the caller at once and lets the native
 * call finish in the background, and workers are ended only when idle. A task pool with
 * stateless handlers and terminate-on-abort fits none of that.
 *
 * Tiles travel as transferable buffers: the input's buffer moves to the worker when the caller
 * hands it over (`transfer`), and the output's buffer moves back.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AbortedError,
  InvalidOptionError,
  BackendError,
  type AbortSignalLike,
  type InferenceSession,
  type RunOptions,
  type SessionOptions,
  type Tensor,
} from '@superres/core';
import type { ConvertRequest, ConvertResult } from '../../convert/convert-request.js';
import type { NcnnConvertRequest, NcnnConvertResult } from '../../ncnn/convert-request.js';
import { deserializeError } from './errors.js';
import type { RunNamedReply, RunReply, WorkerReply, WorkerRequest } from './messages.js';
import { resolvePoolSize, type PoolSizeOptions } from './pool-size.js';

export interface WorkerPoolOptions extends PoolSizeOptions {
  /** The worker script; default: the built `worker-main.js` of this package. */
  workerUrl?: URL;
  /**
   * Modules (file URLs or absolute paths) each worker imports before its first conversion: a
   * module that calls `registerArchitecture` (from `@superres/models`) makes its architectures
   * known to conversions in the workers, as importing it does on the main thread.
   */
  architectureModules?: readonly (string | URL)[];
}

export interface WorkerPoolStats {
  /** Worker threads started and alive. */
  workers: number;
  /** Workers carrying out a request (a cancelled run keeps its worker until ONNX Runtime returns). */
  busy: number;
  /** Requests waiting for a worker. */
  queued: number;
  /** Runs completed, and the milliseconds ONNX Runtime spent in them (measured in the workers). */
  runs: number;
  runMs: number;
}

export interface WorkerPool {
  /** Most worker threads, hence most runs at once. */
  readonly size: number;
  /** ONNX Runtime intra-op threads per worker (a session's own `threads` option wins). */
  readonly threads: number;
  /** Opens a model (in one worker now, in the others at their first run of it). */
  openSession(onnx: Uint8Array, options?: SessionOptions): Promise<InferenceSession>;
  /** Converts a checkpoint to ONNX in a worker. */
  convert(request: ConvertRequest, options?: { signal?: AbortSignalLike }): Promise<ConvertResult>;
  /** Converts an ncnn model (.param text and .bin bytes) to ONNX in a worker. */
  convertNcnn(request: NcnnConvertRequest, options?: { signal?: AbortSignalLike }): Promise<NcnnConvertResult>;
  stats(): WorkerPoolStats;
  /**
   * Starts a worker and loads ONNX Runtime in it now, so that a host that knows a model is coming
   * (the CLI's upscale) overlaps that start with its own work. Resolves when ready; never rejects.
   */
  warm(): Promise<void>;
  /**
   * Refuses new work, fails what is queued, waits for the requests workers are carrying out
   * (ONNX Runtime cannot be interrupted), then ends the workers. Idempotent.
   */
  close(): Promise<void>;
}

interface Task {
  request: WorkerRequest & { id: number };
  transfer: ArrayBuffer[];
  /** Session the request needs open in its worker. */
  session?: number;
  signal?: AbortSignalLike;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** The caller has its answer (a result, an error, or AbortedError); a late reply is dropped. */
  settled: boolean;
  detach?: () => void;
}

interface Slot {
  worker: Worker;
  /** The request it is carrying out, until its reply arrives. */
  task?: Task;
  /** Sessions opened in this worker. */
  sessions: Set<number>;
}

interface SessionEntry {
  onnx: Uint8Array;
  options: SessionOptions;
}

/** The worker entry: beside this module when built; from the TypeScript sources (tests), the built copy. */
function defaultWorkerUrl(): URL {
  const beside = new URL('./worker-main.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../../dist/node/pool/worker-main.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new BackendError(`The inference worker script is missing (${fileURLToPath(beside)}): build @superres/models first`);
}

/**
 * A worker with the host's Node flags, less custom export conditions: the worker is this
 * package's built code and must resolve its dependencies the standard way (a test runner's
 * `--conditions source` would point it at TypeScript sources Node cannot run). Flags are only
 * passed explicitly when there are conditions to drop: Node refuses explicit per-process flags
 * (`--expose-gc`, ...) for workers, which it accepts when they are inherited.
 */
function startWorker(url: URL, workerData: unknown): Worker {
  const args = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--conditions' || arg === '-C') i++;
    else if (!arg.startsWith('--conditions=')) kept.push(arg);
  }
  if (kept.length === args.length) return new Worker(url, { workerData });
  try {
    return new Worker(url, { execArgv: kept, workerData });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(url, { execArgv: [], workerData });
  }
}

/** Module specifiers as file URLs: a worker's import() of a bare path would not resolve. */
function moduleHrefs(modules: readonly (string | URL)[] = []): string[] {
  return modules.map((m) => {
    if (m instanceof URL) return m.href;
    if (/^[a-z][a-z0-9+.-]*:/i.test(m)) return m;
    if (!isAbsolute(m)) throw new InvalidOptionError(`architectureModules: "${m}" must be an absolute path or a file URL`, { details: { option: 'architectureModules' } });
    return pathToFileURL(m).href;
  });
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const { workers: size, threads, spinning } = resolvePoolSize(options);
  const architectureModules = moduleHrefs(options.architectureModules);
  const slots: Slot[] = [];
  const queue: Task[] = [];
  const sessions = new Map<number, SessionEntry>();
  let nextId = 1;
  let nextSession = 1;
  let closing: Promise<void> | undefined;
  let drained: (() => void) | undefined;
  let runs = 0;
  let runMs = 0;

  function spawn(): Slot {
    const worker = startWorker(options.workerUrl ?? defaultWorkerUrl(), { architectureModules });
    const slot: Slot = { worker, sessions: new Set() };
    worker.unref();
    worker.on('message', (reply: WorkerReply) => onReply(slot, reply));
    worker.on('error', (error) => lost(slot, `the inference worker failed: ${error.message}`));
    worker.on('exit', (code) => lost(slot, `the inference worker stopped unexpectedly (exit code ${code})`));
    slots.push(slot);
    return slot;
  }

  function lost(slot: Slot, why: string): void {
    const index = slots.indexOf(slot);
    if (index < 0) return;
    slots.splice(index, 1);
    const task = slot.task;
    slot.task = undefined;
    if (task) settle(task, () => task.reject(new BackendError(`Inference failed: ${why}`)));
    if (!closing) pump();
    else if (slots.every((s) => !s.task)) drained?.();
  }

  function onReply(slot: Slot, reply: WorkerReply): void {
    const task = slot.task;
    // Replies to implicit opens (sent ahead of a run) carry no task: the run reports their failure.
    if (!task || task.request.id !== reply.id) return;
    slot.task = undefined;
    slot.worker.unref();
    settle(task, () => (reply.ok ? task.resolve(reply.value) : task.reject(deserializeError(reply.error))));
    if (closing) {
      if (slots.every((s) => !s.task)) drained?.();
      return;
    }
    pump();
  }

  function settle(task: Task, answer: () => void): void {
    if (task.settled) return;
    task.settled = true;
    task.detach?.();
    answer();
  }

  /** Picks an idle worker for `task`: one that has its session open, else any, else a new one. */
  function pick(task: Task): Slot | undefined {
    const idle = slots.filter((s) => !s.task);
    if (task.session !== undefined) {
      const warm = idle.find((s) => s.sessions.has(task.session!));
      if (warm) return warm;
    }
    return idle[0] ?? (slots.length < size ? spawn() : undefined);
  }

  function pump(): void {
    for (let i = 0; i < queue.length; ) {
      const task = queue[i]!;
      const slot = pick(task);
      if (!slot) return;
      queue.splice(i, 1);
      dispatch(slot, task);
    }
  }

  function dispatch(slot: Slot, task: Task): void {
    const session = task.session;
    if (session !== undefined && !slot.sessions.has(session)) {
      const entry = sessions.get(session);
      if (!entry) {
        settle(task, () => task.reject(new BackendError('The inference session has been released')));
        return;
      }
      slot.sessions.add(session);
      if (task.request.op !== 'open') {
        post(slot, { op: 'open', id: nextId++, session, onnx: entry.onnx, options: entry.options }, []);
      }
    }
    slot.task = task;
    slot.worker.ref();
    post(slot, task.request, task.transfer);
  }

  function post(slot: Slot, message: WorkerRequest, transfer: ArrayBuffer[]): void {
    slot.worker.postMessage(message, transfer);
  }

  function submit<T>(request: WorkerRequest & { id: number }, extra: Pick<Task, 'session' | 'signal' | 'transfer'>): Promise<T> {
    if (closing) return Promise.reject(new BackendError('The inference worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const task: Task = { request, ...extra, resolve: resolve as (v: unknown) => void, reject, settled: false };
      const { signal } = extra;
      if (signal) {
        if (signal.aborted) {
          reject(new AbortedError(undefined, { cause: signal.reason }));
          return;
        }
        // Cancelled: the caller is answered now; a request already in a worker finishes there.
        const onAbort = () => {
          const queued = queue.indexOf(task);
          if (queued >= 0) queue.splice(queued, 1);
          settle(task, () => reject(new AbortedError(undefined, { cause: signal.reason })));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        task.detach = () => signal.removeEventListener('abort', onAbort);
      }
      queue.push(task);
      pump();
    });
  }

  function sessionHandle(id: number): InferenceSession {
    let released = false;
    return {
      parallelism: size,
      async run(input: Tensor, runOptions: RunOptions = {}): Promise<Tensor> {
        if (runOptions.signal?.aborted) throw new AbortedError(undefined, { cause: runOptions.signal.reason });
        if (released || !sessions.has(id)) throw new BackendError('The inference session has been released');
        const source = input.data;
        const whole = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength;
        // Handed over: the buffer moves to the worker. Otherwise the caller keeps its data: a copy moves.
        const data = runOptions.transfer && whole && source.buffer instanceof ArrayBuffer ? source : source.slice();
        const reply = await submit<RunReply>(
          { op: 'run', id: nextId++, session: id, data, dims: [...input.dims] },
          { session: id, signal: runOptions.signal, transfer: [data.buffer as ArrayBuffer] },
        );
        runs += 1;
        runMs += reply.ms;
        return { data: reply.data, dims: reply.dims };
      },
      async runNamed(inputs: Readonly<Record<string, Tensor>>, runOptions: RunOptions = {}): Promise<Record<string, Tensor>> {
        if (runOptions.signal?.aborted) throw new AbortedError(undefined, { cause: runOptions.signal.reason });
        if (released || !sessions.has(id)) throw new BackendError('The inference session has been released');
        const moved: Record<string, { data: Float32Array; dims: number[] }> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, input] of Object.entries(inputs)) {
          const source = input.data;
          const whole = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength;
          const mine = runOptions.transfer && whole && source.buffer instanceof ArrayBuffer && !transfer.includes(source.buffer);
          const data = mine ? source : source.slice();
          moved[name] = { data, dims: [...input.dims] };
          transfer.push(data.buffer as ArrayBuffer);
        }
        const reply = await submit<RunNamedReply>(
          { op: 'runNamed', id: nextId++, session: id, inputs: moved },
          { session: id, signal: runOptions.signal, transfer },
        );
        runs += 1;
        runMs += reply.ms;
        return reply.outputs;
      },
      async release(): Promise<void> {
        if (released) return;
        released = true;
        sessions.delete(id);
        for (let i = queue.length - 1; i >= 0; i--) {
          const task = queue[i]!;
          if (task.session !== id) continue;
          queue.splice(i, 1);
          settle(task, () => task.reject(new BackendError('The inference session has been released')));
        }
        for (const slot of slots) {
          if (slot.sessions.delete(id)) post(slot, { op: 'close', session: id }, []);
        }
      },
    };
  }

  return {
    size,
    threads,
    async openSession(onnx, sessionOptions = {}) {
      const id = nextSession++;
      const spin = sessionOptions.spinning ?? spinning;
      const entry: SessionEntry = {
        onnx,
        options: { ...sessionOptions, threads: sessionOptions.threads ?? threads, ...(spin === undefined ? {} : { spinning: spin }) },
      };
      sessions.set(id, entry);
      try {
        // Opened once now, so a graph ONNX Runtime refuses fails here rather than at the first tile.
        await submit({ op: 'open', id: nextId++, session: id, onnx, options: entry.options }, { session: id, transfer: [] });
      } catch (error) {
        sessions.delete(id);
        for (const slot of slots) if (slot.sessions.delete(id)) post(slot, { op: 'close', session: id }, []);
        throw error;
      }
      return sessionHandle(id);
    },
    convert(request, convertOptions = {}) {
      return submit<ConvertResult>({ op: 'convert', id: nextId++, request }, { signal: convertOptions.signal, transfer: [] });
    },
    convertNcnn(request, convertOptions = {}) {
      return submit<NcnnConvertResult>({ op: 'convert', id: nextId++, request }, { signal: convertOptions.signal, transfer: [] });
    },
    warm: () => submit({ op: 'warm', id: nextId++ }, { transfer: [] }).then(
      () => undefined,
      () => undefined,
    ),
    stats: () => ({ workers: slots.length, busy: slots.filter((s) => s.task).length, queued: queue.length, runs, runMs }),
    close() {
      closing ??= (async () => {
        for (const task of queue.splice(0)) {
          settle(task, () => task.reject(new BackendError('The inference worker pool is closed')));
        }
        if (slots.some((s) => s.task)) await new Promise<void>((resolve) => (drained = resolve));
        sessions.clear();
        // Sessions the caller never released are released now, in their workers: a worker ended
        // with an ONNX Runtime session still open leaves it to a finalizer at thread teardown.
        for (const slot of slots) {
          for (const id of slot.sessions) post(slot, { op: 'close', session: id }, []);
          slot.sessions.clear();
        }
        // Releases are posted without a reply; a worker ended inside one (ONNX Runtime freeing a
        // session) aborts the whole process. Each worker answers a last request once the messages
        // before it are handled, and only then is it ended.
        await Promise.all(
          slots.map(
            (slot) =>
              new Promise<void>((resolve) => {
                const task: Task = { request: { op: 'drain', id: nextId++ }, transfer: [], resolve: () => resolve(), reject: () => resolve(), settled: false };
                dispatch(slot, task);
              }),
          ),
        );
        await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
      })();
      return closing;
    },
  };
}
