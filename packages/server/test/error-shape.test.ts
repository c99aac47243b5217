// Every error the server sends, its own or its framework's, has the API's shape
// `{ status: "error", message }`.
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import type { AppContext } from '../src/routes/context.js';

/** A raw HTTP exchange (fetch would refuse some of these requests itself). */
function exchange(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

describe('error bodies', () => {
  let dir: string;
  let server: RunningServer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-errors-'));
    server = await startServer(loadConfig({ SUPERRES_DATA_DIR: dir, SUPERRES_PORT: '0', SUPERRES_API_KEYS: 'k', SUPERRES_HOST: '127.0.0.1' }), { logger: false });
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a path parameter past the limit', `/api/v1/enterprise/fetch/${'a'.repeat(300)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 414],
    ['a URL past the header limit', `/x${'a'.repeat(20_000)}`, {}, 431],
    ['a header past the limit', '/healthz', { headers: { 'x-big': 'a'.repeat(20_000) } }, 431],
    ['a badly encoded URL', '/%zz', {}, 400],
    ['an unknown route', '/nowhere', {}, 404],
    ['malformed JSON', '/api/v1/enterprise/super_resolution', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":' }, 400],
    ['a body past the JSON limit', '/api/v1/enterprise/super_resolution', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'k', track_id: 'x'.repeat(100_000) }) }, 413],
  ] as const)('%s: %i', async (_name, path, options, status) => {
    const answer = await exchange(server.config.port, path, options);
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ status: 'error', message: expect.any(String) });
    expect(answer.body).not.toHaveProperty('statusCode');
    expect(((answer.body as { message: string }).message).length).toBeLessThan(400);
  });

  it('answers a request that comes during shutdown with 503 in the same shape', async () => {
    const app = buildApp({ config: server.config, accepting: () => false } as unknown as AppContext, { logger: false });
    const answer = await app.inject({ method: 'GET', url: '/healthz' });
    expect(answer.statusCode).toBe(503);
    expect(answer.json()).toMatchObject({ status: 'error', message: expect.stringMatching(/shutting down/) });
    await app.close();
  });
});
