/** /healthz, /readyz, /metrics, /openapi.json. */
import { readdir } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { ROUTES, type HealthResponse, type ReadyResponse } from '@superres/sdk';
import { buildOpenApi } from '../openapi.js';
import { cachedCheck } from '../probe-write.js';
import type { AppContext } from './context.js';

const READY_CACHE_MS = 2000;

/** The models directory can be listed (or does not exist yet: it is made at the first download). */
async function directoryReadable(dir: string): Promise<boolean> {
  try {
    await readdir(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export function registerOpsRoutes(app: FastifyInstance, ctx: AppContext): void {
  let openapi: unknown;

  app.get(ROUTES.healthz, async (): Promise<HealthResponse> => ({ status: 'ok' }));

  // Each check writes (or reads) for real; their answers are reused for READY_CACHE_MS, so a
  // probe every second costs a write every few seconds.
  const queueWritable = cachedCheck(() => ctx.queue.writable(), READY_CACHE_MS);
  const storageWritable = cachedCheck(async () => (ctx.storage.ready ? ctx.storage.ready() : true), READY_CACHE_MS);
  const modelsReadable = cachedCheck(() => directoryReadable(ctx.store.dir), READY_CACHE_MS);

  app.get(ROUTES.readyz, async (_request, reply) => {
    const [queue, storage, models] = await Promise.all([queueWritable(), storageWritable(), modelsReadable()]);
    const checks = { accepting: ctx.accepting(), queue, storage, models };
    const ready = Object.values(checks).every(Boolean);
    const body: ReadyResponse = { status: ready ? 'ok' : 'unavailable', checks };
    return reply.code(ready ? 200 : 503).send(body);
  });

  app.get(ROUTES.metrics, async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });

  app.get(ROUTES.openapi, async () => (openapi ??= buildOpenApi(ctx.version, ctx.config.publicUrl)));
}
