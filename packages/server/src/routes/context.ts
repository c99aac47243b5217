/** What every route module is handed: the server's parts, built once by server.ts. */
import type { ModelStore, WorkerPool } from '@superres/models/node';
import type { JobProgress } from '../job-progress.js';
import type { ServerConfig } from '../config.js';
import type { JobQueue, Storage } from '../contracts.js';
import type { KeyRing } from '../keys.js';
import type { Metrics } from '../metrics.js';
import type { ModelCache } from '../model-cache.js';
import type { FaceModelCache } from '../face-models.js';
import type { Quotas } from '../runtime.js';

/** Local storage adds what the HTTP layer needs to serve `/outputs/<key>` itself. */
export interface ServableStorage extends Storage {
  kind?: string;
  resolve?(key: string): string | undefined;
  contentTypeOf?(key: string): string;
  /** Whether the storage answers (for /readyz). */
  ready?(): Promise<boolean>;
}

export interface AppContext {
  config: ServerConfig;
  keys: KeyRing;
  queue: JobQueue;
  queueBackend: 'embedded' | 'redis';
  storage: ServableStorage;
  store: ModelStore;
  models: ModelCache;
  faces: FaceModelCache;
  /** The inference workers (checkpoint conversion of load_model runs there too). */
  pool: WorkerPool;
  /** Estimated time left of the jobs running in this process. */
  progress: JobProgress;
  metrics: Metrics;
  /** Per-key budgets: upload bytes and processing seconds per hour. */
  quotas: Quotas;
  version: string;
  startedAt: number;
  /** False once shutdown began (for /readyz). */
  accepting: () => boolean;
}
