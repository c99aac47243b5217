/** Key checks and body validation shared by the API routes. */
import type { FastifyRequest } from 'fastify';
import { safeParse, type core } from 'zod';
import { formatValidationError } from '@superres/sdk';
import { ServerError } from '../errors.js';
import type { KeyIdentity, KeyRing } from '../keys.js';

/** The key from the body (`key`, as Stable Diffusion API clients send it) or `Authorization: Bearer`. */
function keyOf(request: FastifyRequest): unknown {
  const body = request.body as { key?: unknown } | null | undefined;
  if (body && typeof body === 'object' && body.key !== undefined && body.key !== null && body.key !== '') return body.key;
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  return undefined;
}

/** Checks the request's key; throws 401 (none or unknown) or 403 (not an admin key where one is needed). */
export function authenticate(keys: KeyRing, request: FastifyRequest, options: { admin?: boolean } = {}): KeyIdentity {
  const key = keyOf(request);
  if (key === undefined) throw new ServerError('E_UNAUTHORIZED', 'key: required (send your API key as "key" in the JSON body)');
  const identity = keys.check(key);
  if (!identity) throw new ServerError('E_UNAUTHORIZED', 'Invalid API key');
  if (options.admin && !identity.admin) throw new ServerError('E_FORBIDDEN', 'This route needs an admin key (SUPERRES_ADMIN_KEYS)');
  return identity;
}

/** Parses a body with an sdk schema; a failure is a 400 whose message names each bad field. */
export function parseBody<S extends core.$ZodType>(schema: S, request: FastifyRequest): core.output<S> {
  const raw = request.body;
  const body = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  if (body.key === undefined) body.key = keyOf(request);
  const result = safeParse(schema, body);
  if (!result.success) throw new ServerError('E_INVALID_REQUEST', formatValidationError(result.error));
  return result.data;
}
