/** startServer: the HTTP server and, unless it is a Redis API-only process, a worker. */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from './app.js';
import type { ServerConfig } from './config.js';
import type { JobQueue } from './contracts.js';
import { resolveDemoDir } from './demo.js';
import { loadKeys, type GeneratedKey } from './keys.js';
import { createRuntime, type Logger, type Runtime } from './runtime.js';

export type StartServerOptions = AppOptions;

export interface RunningServer {
  /** Where the server listens, e.g. `http://127.0.0.1:3000`. */
  url: string;
  config: ServerConfig;
  /** Keys generated at this start (first start without configured keys): print them once. */
  generatedKeys: GeneratedKey[];
  app: FastifyInstance;
  queue: JobQueue;
  /** Stops accepting requests, lets running jobs finish (or go back to the queue), releases everything. */
  close(): Promise<void>;
}

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startServer(input: ServerConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const config = { ...input };
  if (config.port === 0) {
    // The public URL (in output and fetch_result URLs) needs the real port before anything starts.
    const derived = config.publicUrl.endsWith(':0');
    config.port = await freePort(config.host);
    if (derived) config.publicUrl = config.publicUrl.replace(/:0$/, `:${config.port}`);
  }
  // A demo directory that is not there fails the start before anything is generated or started.
  if (config.demoDir) resolveDemoDir(config.demoDir);
  const { ring, generated } = await loadKeys({ apiKeys: config.apiKeys, adminKeys: config.adminKeys, dataDir: config.dataDir });
  let accepting = true;
  // The app's logger is not there yet while the runtime is built: queue it behind a late binding.
  const sink: { log?: Logger } = {};
  const late: Logger = {
    info: (o, m) => sink.log?.info(o, m),
    warn: (o, m) => sink.log?.warn(o, m),
    error: (o, m) => sink.log?.error(o, m),
  };
  // A start that fails takes back the keys it generated: they were never printed, and the next
  // start must generate (and print) its own rather than find unknown ones on disk.
  const forgetGeneratedKeys = () => Promise.all(generated.map((k) => rm(k.path, { force: true })));
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, late);
  } catch (error) {
    await forgetGeneratedKeys();
    throw error;
  }
  const app = buildApp(
    {
      config,
      keys: ring,
      queue: runtime.queue,
      queueBackend: runtime.queueBackend,
      storage: runtime.storage,
      store: runtime.store,
      models: runtime.models,
      faces: runtime.faces,
      pool: runtime.pool,
      progress: runtime.progress,
      metrics: runtime.metrics,
      quotas: runtime.quotas,
      version: VERSION,
      startedAt: Date.now(),
      accepting: () => accepting,
    },
    options,
  );
  sink.log = app.log;
  if (!config.redisUrl || config.worker) await runtime.startWorker();
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await runtime.close();
    await forgetGeneratedKeys();
    throw error;
  }
  app.log.info({ url: config.publicUrl, queue: runtime.queueBackend, storage: runtime.storage.kind }, 'superres server listening');

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    config,
    generatedKeys: generated,
    app,
    queue: runtime.queue,
    close() {
      closing ??= (async () => {
        accepting = false;
        // No new connections; requests in flight finish while running jobs get their grace time.
        await Promise.all([app.close(), runtime.close()]);
      })();
      return closing;
    },
  };
}
