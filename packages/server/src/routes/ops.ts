/** /healthz, /readyz, /metrics, /openapi.json. */
import type { FastifyInstance } from 'fastify';
import { ROUTES } from '@superres/sdk';
import { buildOpenApi } from '../openapi.js';
import type { AppContext } from './context.js';

export function registerOpsRoutes(app: FastifyInstance, ctx: AppContext): void {
  let openapi: unknown;

  app.get(ROUTES.healthz, async () => ({ status: 'ok' }));

  app.get(ROUTES.readyz, async (_request, reply) => {
    const checks = {
      accepting: ctx.accepting(),
      // A queue that answers a lookup is up (embedded: the data dir; BullMQ: Redis).
      queue: await ctx.queue.countPending('readyz').then(
        () => true,
        () => false,
      ),
      storage: ctx.storage.ready ? await ctx.storage.ready().catch(() => false) : true,
    };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
  });

  app.get(ROUTES.metrics, async (_request, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });

  app.get(ROUTES.openapi, async () => (openapi ??= buildOpenApi(ctx.version)));
}
