// Browser clients: CORS (SUPERRES_CORS_ORIGINS) and the demo served under /demo/
// (SUPERRES_DEMO_DIR) with cross-origin isolation headers, against the real server on 127.0.0.1.
// No model weights: nothing here runs a model.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';

const KEY = 'cors-key';
const ADMIN = 'cors-admin';
const ALLOWED = 'https://app.example.com';
const LOCAL_DEV = 'http://localhost:5173';
const OTHER = 'https://evil.example.net';
const SECRET = 'outside-the-demo-dir-secret';
const INDEX = '<!doctype html><title>superres demo</title><script type="module" src="./assets/app-3f2a1b.js"></script>';
const SCRIPT = 'console.log("demo");';
// The first bytes of a WebAssembly module (magic and version) and a little more.
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);

let dir: string;
let demoDir: string;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json: () => Record<string, unknown>;
}

/** One request with node:http: the path goes out exactly as written (fetch would normalise `..`). */
function call(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const url = new URL(base);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) as Record<string, unknown> });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function corsHeadersOf(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((h) => h.startsWith('access-control-'));
}

async function serve(env: Record<string, string>): Promise<RunningServer> {
  return startServer(
    loadConfig({
      SUPERRES_PORT: '0',
      SUPERRES_DATA_DIR: join(dir, `data-${Math.random().toString(36).slice(2)}`),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: KEY,
      SUPERRES_ADMIN_KEYS: ADMIN,
      ...env,
    }),
    { logger: false },
  );
}

const preflightHeaders = (origin: string) => ({
  origin,
  'access-control-request-method': 'POST',
  'access-control-request-headers': 'content-type, authorization',
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cors-demo-'));
  // <dir>/site/secret.txt is outside <dir>/site/dist, the demo directory.
  const site = join(dir, 'site');
  demoDir = join(site, 'dist');
  await mkdir(join(demoDir, 'assets'), { recursive: true });
  await writeFile(join(site, 'secret.txt'), SECRET);
  await writeFile(join(site, 'package.json'), JSON.stringify({ secret: SECRET }));
  await writeFile(join(demoDir, 'index.html'), INDEX);
  await writeFile(join(demoDir, 'assets', 'app-3f2a1b.js'), SCRIPT);
  await writeFile(join(demoDir, 'assets', 'style-9c1d.css'), 'body{margin:0}');
  await writeFile(join(demoDir, 'ort-wasm-simd-threaded.wasm'), WASM);
  await writeFile(join(demoDir, '.env'), SECRET);
  // A symbolic link inside that points outside is refused too.
  await symlink(join(site, 'secret.txt'), join(demoDir, 'linked.txt'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('without SUPERRES_CORS_ORIGINS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({});
  });
  afterAll(() => server?.close());

  it('sends no CORS headers, and OPTIONS is an unknown route (404 in the API shape)', async () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    const answer = await call(server.url, '/api/v1/enterprise/get_all_models', { method: 'POST', headers: { origin: ALLOWED }, body: {} });
    expect(answer.status).toBe(401);
    expect(corsHeadersOf(answer.headers)).toEqual([]);
    expect(answer.headers.vary).toBeUndefined();
    const preflight = await call(server.url, '/api/v1/enterprise/super_resolution', { method: 'OPTIONS', headers: preflightHeaders(ALLOWED) });
    expect(preflight.status).toBe(404);
    expect(preflight.json()).toMatchObject({ status: 'error', message: expect.stringContaining('Not found') });
    expect(corsHeadersOf(preflight.headers)).toEqual([]);
  });

  it('serves no /demo routes', async () => {
    const answer = await call(server.url, '/demo/');
    expect(answer.status).toBe(404);
    expect(answer.json()).toMatchObject({ status: 'error' });
  });
});

describe('SUPERRES_CORS_ORIGINS: a list of origins', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ SUPERRES_CORS_ORIGINS: ` ${ALLOWED}, ${LOCAL_DEV} ` });
  });
  afterAll(() => server?.close());

  it('an allowed origin gets the headers on every answer, errors included (a 401 the page must read)', async () => {
    const answer = await call(server.url, '/api/v1/enterprise/get_all_models', { method: 'POST', headers: { origin: ALLOWED }, body: {} });
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({ status: 'error', code: 'E_UNAUTHORIZED' });
    expect(answer.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(answer.headers['access-control-expose-headers']).toBe('x-request-id, retry-after');
    expect(answer.headers.vary).toMatch(/\bOrigin\b/);
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();

    const ok = await call(server.url, '/api/v1/enterprise/get_all_models', { method: 'POST', headers: { origin: LOCAL_DEV, authorization: `Bearer ${KEY}` }, body: {} });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(LOCAL_DEV);

    const missing = await call(server.url, '/no/such/route', { headers: { origin: ALLOWED } });
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe(ALLOWED);
  });

  it('answers an allowed preflight with 204 and the allowed methods and headers, on any path', async () => {
    for (const path of ['/api/v1/enterprise/super_resolution', '/api/v1/enterprise/fetch/abc', '/']) {
      const answer = await call(server.url, path, { method: 'OPTIONS', headers: preflightHeaders(ALLOWED) });
      expect(answer.status, path).toBe(204);
      expect(answer.body.length).toBe(0);
      expect(answer.headers).toMatchObject({
        'access-control-allow-origin': ALLOWED,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'content-type, authorization, x-request-id',
        'access-control-max-age': '600',
      });
      expect(answer.headers.vary).toMatch(/\bOrigin\b/);
      expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('a disallowed origin: no CORS headers, the request still processed; its preflight is 403 in the API shape', async () => {
    const answer = await call(server.url, '/api/v1/enterprise/get_all_models', { method: 'POST', headers: { origin: OTHER, authorization: `Bearer ${KEY}` }, body: {} });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ status: 'success' });
    expect(corsHeadersOf(answer.headers)).toEqual([]);
    // Still Vary: Origin, so no cache hands this answer to an allowed origin.
    expect(answer.headers.vary).toMatch(/\bOrigin\b/);
    // Close but not equal: another scheme, port or host.
    for (const origin of [OTHER, 'http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com.evil.net', 'null']) {
      const preflight = await call(server.url, '/api/v1/enterprise/super_resolution', { method: 'OPTIONS', headers: preflightHeaders(origin) });
      expect(preflight.status, origin).toBe(403);
      expect(preflight.json()).toMatchObject({ status: 'error', code: 'E_FORBIDDEN', message: expect.stringContaining('SUPERRES_CORS_ORIGINS') });
      expect(corsHeadersOf(preflight.headers), origin).toEqual([]);
    }
  });

  it('an OPTIONS request that is no preflight is an unknown route; no Origin, no CORS headers', async () => {
    const plain = await call(server.url, '/api/v1/enterprise/super_resolution', { method: 'OPTIONS' });
    expect(plain.status).toBe(404);
    expect(plain.json()).toMatchObject({ status: 'error' });
    const noMethod = await call(server.url, '/api/v1/enterprise/super_resolution', { method: 'OPTIONS', headers: { origin: ALLOWED } });
    expect(noMethod.status).toBe(404);
    const healthz = await call(server.url, '/healthz');
    expect(healthz.status).toBe(200);
    expect(corsHeadersOf(healthz.headers)).toEqual([]);
  });

  it('outputs carry Cross-Origin-Resource-Policy: cross-origin (and CORS for an allowed origin)', async () => {
    const png = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } }).png().toBuffer();
    const upload = await call(server.url, '/api/v1/enterprise/upload_image', { method: 'POST', headers: { origin: ALLOWED }, body: { key: KEY, image: png.toString('base64') } });
    expect(upload.status).toBe(200);
    expect(upload.headers['access-control-allow-origin']).toBe(ALLOWED);
    const output = new URL(String(upload.json().output));
    expect(output.pathname).toMatch(/^\/outputs\/[0-9a-f]{32}\.png$/);
    const image = await call(server.url, output.pathname, { headers: { origin: ALLOWED } });
    expect(image.status).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    expect(image.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(image.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(image.body.equals(png)).toBe(true);
  });
});

describe('SUPERRES_CORS_ORIGINS=*', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ SUPERRES_CORS_ORIGINS: '*' });
  });
  afterAll(() => server?.close());

  it('allows any origin with Access-Control-Allow-Origin: *', async () => {
    const answer = await call(server.url, '/api/v1/enterprise/get_all_models', { method: 'POST', headers: { origin: OTHER }, body: {} });
    expect(answer.status).toBe(401);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['access-control-expose-headers']).toBe('x-request-id, retry-after');
    const preflight = await call(server.url, '/api/v1/enterprise/upload_image', { method: 'OPTIONS', headers: preflightHeaders('http://127.0.0.1:8080') });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-max-age': '600' });
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const noOrigin = await call(server.url, '/healthz');
    expect(corsHeadersOf(noOrigin.headers)).toEqual([]);
  });
});

describe('SUPERRES_CORS_ORIGINS values', () => {
  it('keeps origins as browsers write them and refuses a malformed one by name', () => {
    expect(loadConfig({ SUPERRES_CORS_ORIGINS: 'HTTPS://App.Example.com:443, http://[::1]:8080,http://localhost:5173,http://localhost:5173' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://[::1]:8080',
      'http://localhost:5173',
    ]);
    expect(loadConfig({ SUPERRES_CORS_ORIGINS: ' * ' }).corsOrigins).toEqual(['*']);
    for (const bad of ['app.example.com', 'https://app.example.com/', 'https://app.example.com/demo', 'ftp://files.example.com', 'https://user@app.example.com', 'https://app.example.com?x=1', 'https://', 'https://app.example.com:99999']) {
      expect(() => loadConfig({ SUPERRES_CORS_ORIGINS: `https://ok.example.com,${bad}` }), bad).toThrow(
        new RegExp(`SUPERRES_CORS_ORIGINS: .*${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not an origin`),
      );
    }
    expect(() => loadConfig({ SUPERRES_CORS_ORIGINS: '*,https://app.example.com' })).toThrow(/SUPERRES_CORS_ORIGINS: .*only entry/);
  });
});

describe('SUPERRES_DEMO_DIR', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve({ SUPERRES_DEMO_DIR: demoDir, SUPERRES_CORS_ORIGINS: ALLOWED });
  });
  afterAll(() => server?.close());

  function expectIsolated(answer: Answer, what: string): void {
    expect(answer.headers['cross-origin-opener-policy'], what).toBe('same-origin');
    expect(answer.headers['cross-origin-embedder-policy'], what).toBe('require-corp');
    expect(answer.headers['cross-origin-resource-policy'], what).toBe('same-origin');
  }

  it('serves index.html at /demo/ with the cross-origin isolation headers, not cached', async () => {
    const index = await call(server.url, '/demo/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body.toString('utf8')).toBe(INDEX);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-length']).toBe(String(Buffer.byteLength(INDEX)));
    expectIsolated(index, '/demo/');
    expect((await call(server.url, '/demo/index.html')).body.toString('utf8')).toBe(INDEX);
    const head = await call(server.url, '/demo/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expectIsolated(head, 'HEAD /demo/');
    const bare = await call(server.url, '/demo');
    expect(bare.status).toBe(302);
    expect(bare.headers.location).toBe('/demo/');
    expectIsolated(bare, '/demo');
  });

  it('serves files with their content types; hashed assets immutable', async () => {
    const wasm = await call(server.url, '/demo/ort-wasm-simd-threaded.wasm');
    expect(wasm.status).toBe(200);
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect(wasm.body.equals(WASM)).toBe(true);
    expectIsolated(wasm, 'wasm');
    const script = await call(server.url, '/demo/assets/app-3f2a1b.js?v=1');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.body.toString('utf8')).toBe(SCRIPT);
    expectIsolated(script, 'js');
    const css = await call(server.url, '/demo/assets/style-9c1d.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers a missing file 404 in the API shape, still isolated', async () => {
    for (const path of ['/demo/nope.js', '/demo/assets/', '/demo/assets', '/demo/assets/nope/deeper.js']) {
      const answer = await call(server.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.json(), path).toMatchObject({ status: 'error', message: expect.any(String) });
      expectIsolated(answer, path);
    }
  });

  it('never serves a file outside the directory: traversal, encoded slashes, hidden files and links answer 404', async () => {
    const attempts = [
      '/demo/../package.json',
      '/demo/../secret.txt',
      '/demo/../../package.json',
      '/demo/%2e%2e/secret.txt',
      '/demo/%2E%2E/package.json',
      '/demo/%2e%2e%2fsecret.txt',
      '/demo/..%2fsecret.txt',
      '/demo/..%2Fpackage.json',
      '/demo/assets%2f..%2f..%2fsecret.txt',
      '/demo/assets%2fapp-3f2a1b.js',
      '/demo/..%5csecret.txt',
      '/demo/..\\secret.txt',
      '/demo/assets/../../secret.txt',
      `/demo//${join(dir, 'site', 'secret.txt').slice(1)}`,
      '/demo/%00index.html',
      '/demo/.env',
      '/demo/linked.txt',
    ];
    for (const path of attempts) {
      const answer = await call(server.url, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body.toString('utf8'), path).not.toContain(SECRET);
      expect(answer.json(), path).toMatchObject({ status: 'error' });
    }
    // Not even a path: Fastify refuses it before routing (400, same shape).
    const undecodable = await call(server.url, '/demo/%ff');
    expect(undecodable.status).toBe(400);
    expect(undecodable.json()).toMatchObject({ status: 'error' });
  });

  it('refuses to start with a directory that is not there or has no index.html, naming it', async () => {
    const missing = join(dir, 'no-such-dist');
    await expect(serve({ SUPERRES_DEMO_DIR: missing })).rejects.toThrow(new RegExp(`SUPERRES_DEMO_DIR: ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not exist`));
    const empty = join(dir, 'empty-dist');
    await mkdir(empty);
    await expect(serve({ SUPERRES_DEMO_DIR: empty })).rejects.toThrow(new RegExp(`SUPERRES_DEMO_DIR: ${empty.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} has no index.html`));
    const file = join(dir, 'site', 'secret.txt');
    await expect(serve({ SUPERRES_DEMO_DIR: file })).rejects.toThrow(/SUPERRES_DEMO_DIR: .* is not a directory/);
  });
});
