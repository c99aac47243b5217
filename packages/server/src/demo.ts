/**
 * The built browser demo (SUPERRES_DEMO_DIR) served under /demo/, same origin as the API, with
 * the cross-origin isolation headers onnxruntime-web needs for WebAssembly threads
 * (SharedArrayBuffer). Registered only when the setting is set.
 *
 * Only regular files under the directory are served: a path with a dot segment or hidden name,
 * an empty segment, a backslash, a NUL or an encoded slash is refused, and the file's real path
 * (symbolic links resolved) must still be inside the directory's. Refusals and missing files are
 * 404 in the API's error shape.
 */
import { realpathSync, statSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { InvalidOptionError } from '@superres/core';
import { ServerError } from './errors.js';

export const DEMO_PREFIX = '/demo';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export function demoContentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Cross-origin isolation (COOP + COEP) and a same-origin resource policy, on every /demo answer. */
export const DEMO_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The demo directory's real path; throws InvalidOptionError naming SUPERRES_DEMO_DIR and the path
 * when it is not a directory holding an index.html.
 */
export function resolveDemoDir(dir: string): string {
  let root: string;
  try {
    root = realpathSync(dir);
    if (!statSync(root).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new InvalidOptionError(`SUPERRES_DEMO_DIR: ${dir} does not exist or is not a directory`, { details: { option: 'SUPERRES_DEMO_DIR', path: dir } });
  }
  const index = join(root, 'index.html');
  if (!statSync(index, { throwIfNoEntry: false })?.isFile()) {
    throw new InvalidOptionError(`SUPERRES_DEMO_DIR: ${dir} has no index.html`, { details: { option: 'SUPERRES_DEMO_DIR', path: dir } });
  }
  return root;
}

/** The path's segments relative to the demo directory, or undefined when it must be refused. */
function safeSegments(rawPath: string): string[] | undefined {
  // Encoded slashes, backslashes and NULs: no file of a built site needs them.
  if (/%(2f|5c|00)/i.test(rawPath)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (decoded === '') return ['index.html'];
  const segments = decoded.split('/');
  // A trailing slash names a directory's index.html.
  if (segments.at(-1) === '') segments[segments.length - 1] = 'index.html';
  for (const segment of segments) {
    if (segment === '' || segment.startsWith('.') || segment.includes('\\') || segment.includes('\0')) return undefined;
  }
  return segments;
}

const notFound = () => new ServerError('E_NOT_FOUND', 'No such file');

async function sendFile(reply: FastifyReply, root: string, rawPath: string): Promise<FastifyReply> {
  const segments = safeSegments(rawPath);
  if (!segments) throw notFound();
  const real = await realpath(join(root, ...segments)).catch(() => undefined);
  if (!real?.startsWith(root + sep)) throw notFound();
  const handle = await open(real, 'r').catch(() => undefined);
  if (!handle) throw notFound();
  let info;
  try {
    info = await handle.stat();
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  if (!info.isFile()) {
    await handle.close().catch(() => undefined);
    throw notFound();
  }
  const hashedAsset = segments.length > 1 && segments[0] === 'assets';
  // The stream closes the handle when it ends or is destroyed (a client gone, a HEAD request).
  return reply
    .header('content-type', demoContentType(real))
    .header('content-length', String(info.size))
    .header('last-modified', info.mtime.toUTCString())
    .header('cache-control', hashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(handle.createReadStream());
}

/** Registers GET /demo, /demo/ and /demo/* serving `dir` (see resolveDemoDir). */
export function registerDemoRoutes(app: FastifyInstance, dir: string): void {
  const root = resolveDemoDir(dir);
  // onSend: every answer of these routes, errors and the shutdown 503 included.
  const isolate = async (_request: unknown, reply: FastifyReply) => {
    reply.headers(DEMO_ISOLATION_HEADERS);
  };
  // Relative URLs in index.html resolve against /demo/, not /.
  app.get(DEMO_PREFIX, { onSend: isolate }, async (_request, reply) => reply.redirect(`${DEMO_PREFIX}/`, 302));
  app.get(`${DEMO_PREFIX}/*`, { onSend: isolate }, async (request, reply) => {
    // The raw path (Fastify hands the wildcard decoded, encoded slashes included).
    const rawPath = request.url.split('?')[0]!.slice(DEMO_PREFIX.length + 1);
    return sendFile(reply, root, rawPath);
  });
}
