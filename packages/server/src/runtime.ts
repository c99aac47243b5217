/**
 * The parts of a server or worker process besides HTTP: storage, model store and cache, queue,
 * metrics, webhook sender and the job processor, wired together once.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createModelStore, createWorkerPool, importArchitectureModules, loadCatalogModel, type ModelStore, type WorkerPool } from '@superres/models/node';
import { createFaceModelCache, type FaceModelCache } from './face-models.js';
import type { ServerConfig } from './config.js';
import type { JobProcessor, JobQueue, JobRecord, WebhookPayload } from './contracts.js';
import { errorToHttp } from './errors-http.js';
import { storedSecret } from './keys.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createModelCache, type ModelCache } from './model-cache.js';
import { createJobProcessor } from './process-job.js';
import { createJobProgress, type JobProgress } from './job-progress.js';
import { createKeyBudget, type KeyBudget } from './key-budget.js';
import { startOutputSweeper } from './output-sweeper.js';
import { createEmbeddedQueue } from './queue/embedded.js';
import type { ServableStorage } from './routes/context.js';
import { storageFromEnv } from './storage/from-env.js';
import { createWebhookOutbox, type WebhookOutbox } from './webhooks/outbox.js';
import { createWebhookSender, type WebhookSender } from './webhooks/sender.js';

export interface Logger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export interface Quotas {
  uploads: KeyBudget;
  compute: KeyBudget;
}

export interface Runtime {
  storage: ServableStorage;
  store: ModelStore;
  /** The inference workers: every model of this process runs and converts there. */
  pool: WorkerPool;
  /** Live progress of the jobs running in this process. */
  progress: JobProgress;
  models: ModelCache;
  /** Face enhancement's models, loaded at the first face_enhance job. */
  faces: FaceModelCache;
  queue: JobQueue;
  queueBackend: 'embedded' | 'redis';
  metrics: Metrics;
  webhooks: WebhookSender;
  /** Pending webhook deliveries, on disk until done. */
  outbox: WebhookOutbox;
  /** Per-key budgets: upload bytes and processing seconds per hour. */
  quotas: Quotas;
  processor: JobProcessor;
  /** Starts running jobs in this process. */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

async function createQueue(config: ServerConfig, log: Logger): Promise<JobQueue> {
  if (!config.redisUrl) {
    return createEmbeddedQueue({ dataDir: config.dataDir, retentionMs: config.jobTtlMs, onError: (err) => log.warn({ err }, 'queue error') });
  }
  const { createBullmqQueue } = await import('./queue/bullmq.js');
  return createBullmqQueue({ redisUrl: config.redisUrl, keepFinishedMs: config.jobTtlMs, onError: (err) => log.warn({ err }, 'queue error') });
}

/** Errors that map to HTTP 500 are logged here and reach clients as a generic message. */
function sanitized(processor: JobProcessor, metrics: Metrics, log: Logger): JobProcessor {
  return async (job, signal) => {
    metrics.jobStarted();
    log.info({ jobId: job.id, modelId: job.input.modelId }, 'job started');
    try {
      return await processor(job, signal);
    } catch (error) {
      const { statusCode } = errorToHttp(error);
      if (statusCode !== 500) throw error;
      log.error({ jobId: job.id, err: error }, 'job failed');
      throw Object.assign(new Error('Internal error while processing the image'), { code: 'E_INTERNAL' });
    } finally {
      metrics.jobEnded();
    }
  };
}

export async function createRuntime(config: ServerConfig, log: Logger): Promise<Runtime> {
  await mkdir(config.dataDir, { recursive: true });
  const storage: ServableStorage = storageFromEnv(config.env, { dataDir: config.dataDir, publicUrl: config.publicUrl });
  const store = createModelStore({ ...(config.modelsDir ? { dir: config.modelsDir } : {}), ...(config.modelsBaseUrl ? { baseUrl: config.modelsBaseUrl } : {}), env: config.env });
  // The user's architectures, known to this thread (detection) and to every worker (conversion).
  await importArchitectureModules(config.architectureModules);
  const pool = createWorkerPool({
    workers: config.workers,
    threads: config.threads,
    spinning: config.threadSpinning,
    env: config.env,
    architectureModules: config.architectureModules,
  });
  const models = createModelCache((id) => loadCatalogModel(id, { store, pool, device: 'cpu' }), config.modelCacheSize);
  const faces = createFaceModelCache(config, store, pool);
  const progress = createJobProgress();
  const metrics = createMetrics();
  const secret = config.webhookSecret ?? (await storedSecret(config.dataDir, 'webhook-secret')).value;
  const webhooks = createWebhookSender({
    secret,
    timeoutMs: config.webhookTimeoutMs,
    maxAttempts: config.webhookAttempts,
    allowPrivate: config.allowPrivateUrls,
    logger: log,
  });
  const queue = await createQueue(config, log);
  // Webhook deliveries are kept on disk until done: a restart resumes those left pending.
  const outbox = createWebhookOutbox({ dir: join(config.dataDir, 'webhooks'), sender: webhooks, onError: (err) => log.warn({ err }, 'webhook outbox error') });
  const resumed = await outbox.resume();
  if (resumed > 0) log.info({ resumed }, 'resuming webhook deliveries left by the previous process');
  const processor = sanitized(createJobProcessor({ config, storage, models, faces, progress }), metrics, log);
  const sweeper = startOutputSweeper(storage, config.outputTtlMs, log);

  const quotas: Quotas = {
    uploads: createKeyBudget({ capacity: config.uploadQuotaBytes, windowMs: 3_600_000 }),
    compute: createKeyBudget({ capacity: config.computeQuotaMs / 1000, windowMs: 3_600_000 }),
  };

  queue.onFinished((job: JobRecord) => {
    // What a job cost is known once it ran: its key pays (and may go into debt).
    if (job.generationTime !== undefined) quotas.compute.charge(job.keyId, job.generationTime);
    const status = job.status === 'success' ? 'success' : 'error';
    metrics.jobFinished(status, job.generationTime);
    log.info({ jobId: job.id, status, generationTime: job.generationTime, errorCode: job.errorCode }, 'job finished');
    if (job.input.webhook) {
      const payload = {
        status,
        id: job.id,
        output: job.output ?? '',
        ...(job.generationTime !== undefined ? { generationTime: job.generationTime } : {}),
        ...(job.input.trackId !== undefined ? { track_id: job.input.trackId } : {}),
        ...(job.error ? { message: job.error } : {}),
      } satisfies WebhookPayload;
      outbox.add(job.id, job.input.webhook, payload).catch((err: unknown) => log.error({ err, jobId: job.id }, 'could not record a webhook delivery'));
    }
  });

  return {
    storage,
    store,
    pool,
    progress,
    models,
    faces,
    queue,
    queueBackend: config.redisUrl ? 'redis' : 'embedded',
    metrics,
    webhooks,
    outbox,
    quotas,
    processor,
    startWorker: () => queue.startWorker(processor, { concurrency: config.concurrency }),
    async close() {
      await sweeper.stop();
      await queue.close({ graceMs: config.shutdownGraceMs });
      await webhooks.close();
      await Promise.all([models.clear(), faces.cache.clear()]);
      // Waits for a tile a worker may still be running (a cancelled job's), then ends the workers.
      await pool.close();
    },
  };
}
