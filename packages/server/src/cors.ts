/**
 * CORS for browser clients (SUPERRES_CORS_ORIGINS), registered only when origins are configured:
 * without the setting the server sends no CORS headers and OPTIONS is an unknown route (404).
 *
 * - An actual request from an allowed origin gets `Access-Control-Allow-Origin` (the origin, or
 *   `*`) and `Access-Control-Expose-Headers`, on every answer, errors included (a browser reads an
 *   error's body only with them). Other origins get no CORS headers: the browser blocks the
 *   answer, the server processes the request as usual.
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), on any path: 204
 *   with the allowed methods and headers for an allowed origin, 403 in the API's error shape for
 *   another. An OPTIONS request that is no preflight is answered as an unknown route.
 * - No credentials: keys travel in the body or `Authorization: Bearer`, never in cookies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServerError } from './errors.js';

export const CORS_ALLOW_METHODS = 'GET, POST, OPTIONS';
export const CORS_ALLOW_HEADERS = 'content-type, authorization, x-request-id';
export const CORS_EXPOSE_HEADERS = 'x-request-id, retry-after';
/** Seconds a browser may reuse a preflight's answer. */
export const CORS_MAX_AGE = 600;

/** Adds `Origin` to the reply's Vary header, keeping what is there. */
function varyOrigin(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  const values = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (values.includes('*') || values.some((v) => v.toLowerCase() === 'origin')) return;
  reply.header('vary', [...values, 'Origin'].join(', '));
}

function originOf(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === 'string' && origin.length > 0 ? origin : undefined;
}

/**
 * Registers the CORS hooks and the OPTIONS catch-all route. `origins`: exact origins as browsers
 * write them (see config.ts), or `['*']` for any; empty registers nothing.
 */
export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  /** The Access-Control-Allow-Origin value for this request's origin, or undefined. */
  const allowOriginFor = (origin: string | undefined): string | undefined =>
    origin === undefined ? undefined : any ? '*' : allowed.has(origin) ? origin : undefined;

  app.addHook('onSend', async (request, reply) => {
    // With a list, every answer depends on Origin (even one without CORS headers): caches must
    // not hand an answer made for one origin to another.
    varyOrigin(reply);
    const allowOrigin = allowOriginFor(originOf(request));
    if (allowOrigin === undefined) return;
    reply.header('access-control-allow-origin', allowOrigin);
    if (request.method !== 'OPTIONS') reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
  });

  app.options('/*', async (request, reply) => {
    const origin = originOf(request);
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) {
      // Not a preflight: as without CORS, OPTIONS is not a route of this API.
      return reply.callNotFound();
    }
    if (allowOriginFor(origin) === undefined) {
      throw new ServerError('E_FORBIDDEN', `Origin ${JSON.stringify(origin.slice(0, 200))} is not allowed to call this server (SUPERRES_CORS_ORIGINS)`);
    }
    return reply
      .code(204)
      .header('access-control-allow-methods', CORS_ALLOW_METHODS)
      .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
      .header('access-control-max-age', String(CORS_MAX_AGE))
      .send();
  });
}
