/**
 * How many inference workers and how many ONNX Runtime threads each: from the options, else
 * SUPERRES_WORKERS / SUPERRES_THREADS, else from the cores this process may use, so that
 * workers x threads never exceeds them (oversubscribed ONNX Runtime threads spin against each
 * other and everything gets slower); and whether those threads spin while they wait for work.
 */
import { availableParallelism } from 'node:os';
import { InvalidOptionError } from '@superres/core';

export interface PoolSizeOptions {
  /** Worker threads; default SUPERRES_WORKERS, else DEFAULT_WORKERS (at most the cores). */
  workers?: number;
  /** ONNX Runtime intra-op threads per worker; default SUPERRES_THREADS, else cores / workers. */
  threads?: number;
  /**
   * Whether idle ONNX Runtime threads spin-wait; default SUPERRES_THREAD_SPINNING (true/false,
   * 1/0 or yes/no, as the server and the CLI read booleans),
   * else ONNX Runtime's own default (on). A session's own `spinning` option wins.
   */
  spinning?: boolean;
  /** Where SUPERRES_* are read; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Cores to share out; default os.availableParallelism(). */
  cores?: number;
}

/**
 * One worker with every core by default. Measured on 2 cores (BENCHMARKS.md): a job alone runs
 * faster on one 2-thread worker (OST_009 5.3-5.5 s against 5.7-5.9 s on two 1-thread workers; a
 * small image 1.05 s against 1.18 s), and one worker holds one copy of each model and of ONNX
 * Runtime (about 70 MB each). Many small jobs gain from two 1-thread workers: 5.1 requests/s
 * with 2 jobs at once and 5.4 with 4, against 4.9 on one 2-thread worker with 2 jobs: set
 * SUPERRES_WORKERS=2, SUPERRES_THREADS=1, SUPERRES_CONCURRENCY=4 for such a server.
 */
export const DEFAULT_WORKERS = 1;

export function resolvePoolSize(options: PoolSizeOptions = {}): { workers: number; threads: number; spinning?: boolean } {
  const env = options.env ?? process.env;
  const cores = Math.max(1, options.cores ?? availableParallelism());
  const workers = options.workers ?? fromEnv(env, 'SUPERRES_WORKERS') ?? Math.min(DEFAULT_WORKERS, cores);
  check('workers', workers);
  const threads = options.threads ?? fromEnv(env, 'SUPERRES_THREADS') ?? Math.max(1, Math.floor(cores / workers));
  check('threads', threads);
  const spinning = options.spinning ?? booleanFromEnv(env, 'SUPERRES_THREAD_SPINNING');
  return { workers, threads, ...(spinning === undefined ? {} : { spinning }) };
}

function booleanFromEnv(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new InvalidOptionError(`${name} must be true or false (also 1/0, yes/no), received ${JSON.stringify(env[name])}`, { details: { option: name } });
}

function fromEnv(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`${name} must be an integer >= 1, received ${JSON.stringify(raw)}`, { details: { option: name } });
  }
  return value;
}

function check(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`Option ${option} must be an integer >= 1, received ${JSON.stringify(value)}`, { details: { option } });
  }
}
