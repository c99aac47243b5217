/**
 * The process's default worker pool, started on first use. One per process, because what it
 * shares out is the process's cores: two pools of "all the cores" each would oversubscribe them.
 * Its idle workers do not keep the process alive.
 */
import { architectureModulesFromEnv } from '../architecture-modules.js';
import { createWorkerPool, type WorkerPool } from './worker-pool.js';

let shared: WorkerPool | undefined;

/** The pool; its workers load the architecture modules SUPERRES_ARCHITECTURES names. */
export function sharedWorkerPool(): WorkerPool {
  shared ??= createWorkerPool({ architectureModules: architectureModulesFromEnv() });
  return shared;
}

/** Closes the default pool (waiting for runs in flight); the next use starts a new one. */
export async function closeSharedWorkerPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
