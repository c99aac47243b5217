/**
 * The HTTP application (Fastify). Fastify because it is schema-friendly, fast, has mature
 * lifecycle hooks (onRequest/onResponse for metrics, onClose for shutdown), first-class
 * TypeScript types, and structured JSON logs through pino.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { registerCors } from './cors.js';
import { registerDemoRoutes } from './demo.js';
import { errorToHttp } from './errors-http.js';
import { clientErrorHandler, frameworkErrorHandler, shuttingDownBody } from './framework-errors.js';
import type { AppContext } from './routes/context.js';
import { registerFileRoutes } from './routes/files.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOpsRoutes } from './routes/ops.js';

export interface AppOptions {
  /**
   * Fastify/pino logger options, false for none; default: JSON lines on stdout at
   * SUPERRES_LOG_LEVEL. Keys are never logged (bodies are not logged).
   */
  logger?: FastifyServerOptions['logger'];
  /** Where the default logger writes (tests read it); default stdout. */
  logStream?: { write(line: string): void };
}

/** A client's x-request-id is kept when it is a plain token; anything else gets our own id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Requests as logged: the path without its query string (it may carry signed URLs or tokens), never headers. */
const serializers = {
  req: (req: { method?: string; url?: string; id?: string; ip?: string }) => ({
    id: req.id,
    method: req.method,
    path: (req.url ?? '').split('?')[0],
    remoteAddress: req.ip,
  }),
};

function defaultLogger(ctx: AppContext, stream?: AppOptions['logStream']): FastifyServerOptions['logger'] {
  return { level: ctx.config.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'], serializers, ...(stream ? { stream } : {}) };
}

function isFastifyClientError(error: unknown): error is FastifyError {
  const e = error as Partial<FastifyError> | null;
  return typeof e?.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode < 500;
}

export function buildApp(ctx: AppContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? defaultLogger(ctx, options.logStream),
    // genReqId reads x-request-id itself: Fastify's own header option would take any value as is.
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Every field of a JSON request is bounded (REQUEST_LIMITS): 64 KiB (the default) holds any
    // valid one. upload_image raises it for its base64 image (routes/files.ts).
    bodyLimit: ctx.config.maxJsonBytes,
    forceCloseConnections: 'idle',
    // Answered by the onRequest hook below, in the API's error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  // Every answer names its request, so a client can quote it and an operator find it in the logs.
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.addHook('onRequest', async (_request, reply) => {
    if (!ctx.accepting()) return reply.code(503).header('connection', 'close').send(shuttingDownBody());
  });

  app.setErrorHandler((error, request, reply) => {
    if (isFastifyClientError(error)) {
      const message = error.code === 'FST_ERR_CTP_INVALID_JSON' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? `The request body is not valid JSON: ${error.message}`
        : error.message;
      return reply.code(error.statusCode!).send({ status: 'error', message });
    }
    const { statusCode, body } = errorToHttp(error);
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(statusCode).send(body);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ status: 'error', message: `Not found: ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.addHook('onResponse', async (request, reply) => {
    // Fastify's elapsedTime: milliseconds since the request arrived.
    ctx.metrics.requestDone(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  // Only when configured: without SUPERRES_CORS_ORIGINS no CORS headers and no OPTIONS route.
  registerCors(app, ctx.config.corsOrigins ?? []);

  registerJobRoutes(app, ctx);
  registerFileRoutes(app, ctx);
  registerModelRoutes(app, ctx);
  registerOpsRoutes(app, ctx);
  if (ctx.config.demoDir) registerDemoRoutes(app, ctx.config.demoDir);
  return app;
}
