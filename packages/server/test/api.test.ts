// The real server on 127.0.0.1 (embedded queue, local storage) against a loopback image server.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rename, rm, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from '@superres/sdk';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import { OpenApiValidator } from './support/openapi-validator.js';

const weights = needsFixture('server API', 'weights', 'realesr-animevideov3.pth');
const image = needsFixture('server API', 'images', 'set5', 'LRx4', 'baby.png');
const MODEL = 'realesr-animevideov3';
const KEY = 'test-key-1';
const OTHER_KEY = 'test-key-2';
const ADMIN = 'admin-key-1';
const WEBHOOK_SECRET = 'webhook-secret-for-tests';

/** `/gate.png` answers once the test opens the gate: jobs fetching it stay pending until then. */
let openGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (openGate = resolve));

interface Hook {
  body: string;
  signature: string | string[] | undefined;
}

/** Serves the test images (and one thing that is not an image); records webhook POSTs. */
async function startFiles(big: Buffer): Promise<{ url: string; hooks: Hook[]; server: Server }> {
  const baby = await readFile(fixture('images', 'set5', 'LRx4', 'baby.png'));
  const hooks: Hook[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/hook') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers[WEBHOOK_SIGNATURE_HEADER] });
        res.end('ok');
      });
      return;
    }
    if (req.url === '/baby.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(baby);
    if (req.url === '/slow.png') {
      setTimeout(() => res.writeHead(200, { 'content-type': 'image/png' }).end(baby), 1500);
      return;
    }
    if (req.url === '/gate.png') {
      void gate.then(() => res.writeHead(200, { 'content-type': 'image/png' }).end(baby));
      return;
    }
    if (req.url === '/big.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(big);
    if (req.url === '/page.html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not an image</html>');
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hooks, server };
}

/** Every answer of post() is checked against the server's /openapi.json once it is loaded. */
let validator: OpenApiValidator | undefined;
const templateOf = (path: string) => path.replace(/\/fetch\/[^/]+$/, '/fetch/{id}');

async function post(base: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  validator?.check({ method: 'post', path: templateOf(path), status: response.status, contentType: response.headers.get('content-type') ?? '', body: json });
  return { status: response.status, json };
}

const SR = '/api/v1/enterprise/super_resolution';

describe.skipIf(weights.missing || image.missing)(weights.title, () => {
  let dir: string;
  let files: Awaited<ReturnType<typeof startFiles>>;
  let server: RunningServer;
  let base: string;
  const env = (extra: Record<string, string> = {}) => ({
    SUPERRES_PORT: '0',
    SUPERRES_DATA_DIR: join(dir, 'data'),
    SUPERRES_MODELS_DIR: join(dir, 'models'),
    SUPERRES_API_KEYS: `${KEY},${OTHER_KEY}`,
    SUPERRES_ADMIN_KEYS: ADMIN,
    SUPERRES_ALLOW_PRIVATE_URLS: 'true',
    SUPERRES_MAX_INPUT_PIXELS: '1000000',
    SUPERRES_SYNC_WAIT_MS: '60000',
    SUPERRES_WEBHOOK_SECRET: WEBHOOK_SECRET,
    SUPERRES_TILE: '64',
    SUPERRES_MODEL_IMPORT_DIRS: fixture('weights'),
    // Offline, the built-in default (realesr-general-x4v3) cannot be had: requests without model_id use this one.
    SUPERRES_DEFAULT_MODEL: MODEL,
    ...extra,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-server-'));
    await mkdir(join(dir, 'models'), { recursive: true });
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    const big = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#808080' } }).png().toBuffer();
    files = await startFiles(big);
    server = await startServer(loadConfig(env()), { logger: false });
    base = server.url;
    validator = new OpenApiValidator((await (await fetch(`${base}/openapi.json`)).json()) as Record<string, unknown>);
  });

  afterAll(async () => {
    await server?.close();
    files?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers the seed's example body with an output 3x the input", async () => {
    const { status, json } = await post(base, SR, {
      key: KEY,
      url: `${files.url}/baby.png`,
      scale: 3,
      model_id: MODEL,
      webhook: null,
      face_enhance: false,
    });
    expect(json).toMatchObject({ status: 'success' });
    expect(status).toBe(200);
    expect(typeof json.id).toBe('string');
    expect(json.generationTime).toBeGreaterThan(0);
    const output = String(json.output);
    expect(output).toMatch(new RegExp(`^${server.config.publicUrl}/outputs/[0-9a-f]{32}\\.png$`));
    const response = await fetch(output);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([378, 378]);
  });

  it('uses SUPERRES_DEFAULT_MODEL for a request without model_id, and get_all_models marks it the default', async () => {
    const { status, json } = await post(base, SR, { key: KEY, url: `${files.url}/baby.png`, scale: 2, webhook: null, face_enhance: false });
    expect({ status, result: json.status }).toEqual({ status: 200, result: 'success' });
    const models = (await post(base, '/api/v1/enterprise/get_all_models', { key: KEY })).json.models as { model_id: string; default: boolean }[];
    expect(models.filter((m) => m.default).map((m) => m.model_id)).toEqual([MODEL]);
  });

  it('accepts init_image and delivers a signed webhook', async () => {
    const { json } = await post(base, SR, {
      key: KEY,
      init_image: `${files.url}/baby.png`,
      scale: '2',
      model_id: MODEL,
      webhook: `${files.url}/hook`,
      track_id: 42,
    });
    expect(json.status).toBe('success');
    for (let i = 0; i < 100 && files.hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const hook = files.hooks.at(-1)!;
    expect(await verifyWebhook({ secret: WEBHOOK_SECRET, body: hook.body, header: hook.signature })).toBe(true);
    expect(await verifyWebhook({ secret: 'wrong', body: hook.body, header: hook.signature })).toBe(false);
    expect(JSON.parse(hook.body)).toMatchObject({ status: 'success', id: json.id, output: json.output, track_id: '42' });
  });

  it('serves uploads and refuses unknown output names', async () => {
    const baby = await readFile(fixture('images', 'set5', 'LRx4', 'baby.png'));
    const up = await post(base, '/api/v1/enterprise/upload_image', { key: KEY, image: `data:image/png;base64,${baby.toString('base64')}` });
    expect(up.status).toBe(200);
    const got = await fetch(String(up.json.output));
    expect(Buffer.from(await got.arrayBuffer()).equals(baby)).toBe(true);
    expect((await post(base, '/api/v1/enterprise/upload_image', { key: KEY, image: Buffer.from('hello').toString('base64') })).status).toBe(422);
    expect((await fetch(`${base}/outputs/${'0'.repeat(32)}.png`)).status).toBe(404);
    expect((await fetch(`${base}/outputs/..%2Fapi-key`)).status).toBe(404);
    expect((await fetch(`${base}/outputs/api-key`)).status).toBe(404);
  });

  it('answers bad requests with clear errors and keeps serving', async () => {
    const url = `${files.url}/baby.png`;
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['no key', { url, model_id: MODEL }, 401, /key/],
      ['wrong key', { key: 'nope', url, model_id: MODEL }, 401, /Invalid API key/],
      ['unknown model', { key: KEY, url, model_id: 'no-such-model' }, 404, /no-such-model/],
      ['scale 0', { key: KEY, url, model_id: MODEL, scale: 0 }, 400, /scale/],
      ['negative scale', { key: KEY, url, model_id: MODEL, scale: -2 }, 400, /scale/],
      ['huge scale', { key: KEY, url, model_id: MODEL, scale: 1000 }, 400, /scale: at most 8/],
      ['no url', { key: KEY, model_id: MODEL }, 400, /url/],
      ['ftp url', { key: KEY, url: 'ftp://example.com/a.png', model_id: MODEL }, 400, /url/],
      ['not an image', { key: KEY, url: `${files.url}/page.html`, model_id: MODEL }, 422, /not return an image/],
      ['missing image', { key: KEY, url: `${files.url}/missing.png`, model_id: MODEL }, 502, /404/],
      ['oversized image', { key: KEY, url: `${files.url}/big.png`, model_id: MODEL }, 413, /pixels/],
      ['malformed JSON', '{"key": ', 400, /JSON/],
      ['tiny scale', { key: KEY, url, model_id: MODEL, scale: 1e-300 }, 400, /scale: at least 1/],
      ['long track_id', { key: KEY, url, model_id: MODEL, track_id: 'x'.repeat(300) }, 400, /track_id: at most 256 characters/],
      ['huge body', { key: KEY, url, model_id: MODEL, track_id: 'x'.repeat(2 ** 20) }, 413, /body/i],
    ];
    for (const [name, body, status, message] of cases) {
      const answer = await post(base, SR, body);
      expect({ name, status: answer.status }).toEqual({ name, status });
      expect(answer.json.status).toBe('error');
      expect(String(answer.json.message)).toMatch(message);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    }
  });

  it('puts the management routes behind the admin key', async () => {
    const models = await post(base, '/api/v1/enterprise/get_all_models', { key: KEY });
    expect(models.status).toBe(200);
    expect(models.json.models).toEqual(expect.arrayContaining([expect.objectContaining({ model_id: MODEL, installed: true, scale: 4 })]));
    for (const route of ['load_model', 'verify_model', 'delete_model', 'clear_cache', 'system_details']) {
      const answer = await post(base, `/api/v1/enterprise/${route}`, { key: KEY, model_id: MODEL, path: '/nowhere' });
      expect({ route, status: answer.status }).toEqual({ route, status: 403 });
    }
    const verify = await post(base, '/api/v1/enterprise/verify_model', { key: ADMIN, model_id: MODEL });
    expect(verify.json).toMatchObject({ status: 'success', model_id: MODEL, verified: true });
    const details = await post(base, '/api/v1/enterprise/system_details', { key: ADMIN });
    expect(details.json).toMatchObject({ status: 'success', queue: { backend: 'embedded', concurrency: 2 }, storage: 'local' });
    const missing = await post(base, '/api/v1/enterprise/delete_model', { key: ADMIN, model_id: 'no-such-model' });
    expect(missing.status).toBe(404);
    const load = await post(base, '/api/v1/enterprise/load_model', {
      key: ADMIN,
      model_id: 'my-anime',
      path: fixture('weights', 'realesr-animevideov3.pth'),
      sha256: '0'.repeat(64),
    });
    expect(load.status).toBe(409);
    for (const [path, status, message] of [
      ['/dev/zero', 403, /not under a directory/],
      ['/etc/hostname', 403, /not under a directory/],
      [fixture('weights', 'no-such.pth'), 404, /no such file/],
    ] as const) {
      const refused = await post(base, '/api/v1/enterprise/load_model', { key: ADMIN, model_id: 'x', path });
      expect({ path, status: refused.status }).toEqual({ path, status });
      expect(refused.json).toMatchObject({ status: 'error', message: expect.stringMatching(message) });
    }
    const loaded = await post(base, '/api/v1/enterprise/load_model', { key: ADMIN, model_id: 'my-anime', path: fixture('weights', 'realesr-animevideov3.pth') });
    expect(loaded.json).toMatchObject({ status: 'success', model: { model_id: 'my-anime', scale: 4 } });
    const deleted = await post(base, '/api/v1/enterprise/delete_model', { key: ADMIN, model_id: 'my-anime' });
    expect(deleted.json.status).toBe('success');
  });

  const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!promtool)(`/metrics passes promtool check metrics${promtool ? '' : ' (skipped: promtool not installed; apt-get install prometheus)'}`, async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    expect({ status: checked.status, problems: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
  });

  it('serves /healthz, /readyz, /metrics and /openapi.json', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/superres_jobs_finished_total\{outcome="success"\} \d+/);
    expect(metrics).toMatch(/superres_jobs_submitted_total \d+/);
    expect(metrics).toMatch(/superres_job_duration_seconds_bucket\{le="[\d.]+",outcome="success"\}/);
    expect(metrics).toMatch(/superres_http_request_duration_seconds_bucket\{le="[\d.]+",method="POST",route="\/api\/v1\/enterprise\/super_resolution"\}/);
    // The standard process and Node metrics, under their standard names.
    expect(metrics).toMatch(/^process_cpu_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(metrics).not.toMatch(/superres_process_|superres_nodejs_/);
    expect(metrics).toMatch(/superres_queue_depth \d+/);
    expect(metrics).toMatch(/superres_http_requests_total\{method="POST",route="\/api\/v1\/enterprise\/super_resolution",status="200"\}/);
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toContain('/api/v1/enterprise/fetch/{id}');
    expect(JSON.stringify(openapi.components.schemas.SuperResolutionRequest)).toContain('init_image');
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });

  describe('with a short wait', () => {
    let quick: RunningServer;
    beforeAll(async () => {
      quick = await startServer(loadConfig(env({ SUPERRES_SYNC_WAIT_MS: '0', SUPERRES_DATA_DIR: join(dir, 'data-quick') })), { logger: false });
    });
    afterAll(() => quick?.close());

    it('answers processing, then fetch gives the result to its key only', async () => {
      const first = await post(quick.url, SR, { key: KEY, url: `${files.url}/baby.png`, scale: 2, model_id: MODEL });
      expect(first.json).toMatchObject({ status: 'processing', output: '' });
      expect(first.json.messege).toBe(first.json.message);
      expect(first.json.eta).toBeGreaterThan(0);
      const fetchUrl = String(first.json.fetch_result);
      expect(fetchUrl).toBe(`${quick.config.publicUrl}/api/v1/enterprise/fetch/${String(first.json.id)}`);
      const other = await post(quick.url, `/api/v1/enterprise/fetch/${String(first.json.id)}`, { key: OTHER_KEY });
      expect(other.status).toBe(404);
      let answer = first.json;
      for (let i = 0; i < 600 && answer.status === 'processing'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        answer = (await post(quick.url, `/api/v1/enterprise/super_resolution/fetch/${String(first.json.id)}`, { key: KEY })).json;
      }
      expect(answer).toMatchObject({ status: 'success', id: first.json.id });
      const meta = await sharp(Buffer.from(await (await fetch(String(answer.output))).arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([252, 252]);
    });

    it('answers a failed job with 200, status error and the error\'s HTTP status', async () => {
      const first = await post(quick.url, SR, { key: KEY, url: `${files.url}/page.html`, model_id: MODEL });
      expect(first.json.status).toBe('processing');
      let answer = await post(quick.url, `/api/v1/enterprise/fetch/${String(first.json.id)}`, { key: KEY });
      for (let i = 0; i < 600 && answer.json.status === 'processing'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        answer = await post(quick.url, `/api/v1/enterprise/fetch/${String(first.json.id)}`, { key: KEY });
      }
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ status: 'error', id: first.json.id, http_status: 422, code: 'E_BAD_IMAGE' });
      expect(String(answer.json.message)).toMatch(/not return an image/);
    });
  });

  describe('with a per-key limit of 1', () => {
    let limited: RunningServer;
    beforeAll(async () => {
      limited = await startServer(
        loadConfig(env({ SUPERRES_SYNC_WAIT_MS: '0', SUPERRES_PER_KEY_QUEUE_LIMIT: '1', SUPERRES_DATA_DIR: join(dir, 'data-limited') })),
        { logger: false },
      );
    });
    afterAll(() => limited?.close());

    it('answers 429 with retry_after past the limit, for that key only', async () => {
      const body = { key: KEY, url: `${files.url}/slow.png`, model_id: MODEL };
      expect((await post(limited.url, SR, body)).json.status).toBe('processing');
      const refused = await post(limited.url, SR, body);
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ status: 'error' });
      expect(refused.json.retry_after).toBeGreaterThan(0);
      expect((await post(limited.url, SR, { ...body, key: OTHER_KEY })).json.status).toBe('processing');
    });
  });

  describe('with a per-key limit of 3 and a burst of requests', () => {
    let limited: RunningServer;
    beforeAll(async () => {
      limited = await startServer(
        loadConfig(env({ SUPERRES_SYNC_WAIT_MS: '0', SUPERRES_PER_KEY_QUEUE_LIMIT: '3', SUPERRES_DATA_DIR: join(dir, 'data-burst') })),
        { logger: false },
      );
    });
    afterAll(async () => {
      openGate();
      await limited?.close();
    });

    it('accepts exactly the limit when 20 requests of one key arrive at once', async () => {
      const body = { key: KEY, url: `${files.url}/gate.png`, model_id: MODEL };
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(limited.url, SR, body)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(17);
      openGate();
    });
  });

  describe('with small per-key quotas', () => {
    let quota: RunningServer;
    beforeAll(async () => {
      quota = await startServer(
        loadConfig(env({ SUPERRES_UPLOAD_QUOTA: '80K', SUPERRES_COMPUTE_QUOTA: '10ms', SUPERRES_DATA_DIR: join(dir, 'data-quota') })),
        { logger: false },
      );
    });
    afterAll(() => quota?.close());

    it('answers 429 with retry_after once a key used its uploads, for that key only', async () => {
      const png = (await readFile(fixture('images', 'set5', 'LRx4', 'baby.png'))).toString('base64');
      // baby.png is about 33 KB: two fit in 80 KiB, the third does not.
      for (let i = 0; i < 2; i++) expect((await post(quota.url, '/api/v1/enterprise/upload_image', { key: KEY, image: png })).status).toBe(200);
      const refused = await post(quota.url, '/api/v1/enterprise/upload_image', { key: KEY, image: png });
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ status: 'error', code: 'E_RATE_LIMITED', message: expect.stringMatching(/SUPERRES_UPLOAD_QUOTA/) });
      expect(refused.json.retry_after).toBeGreaterThan(0);
      expect((await post(quota.url, '/api/v1/enterprise/upload_image', { key: OTHER_KEY, image: png })).status).toBe(200);
    });

    it('answers 429 with retry_after once a key used its processing time', async () => {
      const body = { key: KEY, url: `${files.url}/baby.png`, model_id: MODEL };
      // The first job is let in (nothing used yet) and costs far more than 10 ms.
      expect((await post(quota.url, SR, body)).json.status).toBe('success');
      const refused = await post(quota.url, SR, body);
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ status: 'error', code: 'E_RATE_LIMITED', message: expect.stringMatching(/SUPERRES_COMPUTE_QUOTA/) });
      expect(refused.json.retry_after).toBeGreaterThan(0);
    });
  });

  describe('with a data directory that stops taking writes', () => {
    let fragile: RunningServer;
    const dataDir = () => join(dir, 'data-fragile');
    beforeAll(async () => {
      fragile = await startServer(loadConfig(env({ SUPERRES_DATA_DIR: dataDir() })), { logger: false });
    });
    afterAll(() => fragile?.close());

    /** /readyz until `wanted` (its answers are cached for 2 s). */
    async function readyz(wanted: number): Promise<{ status: number; json: Record<string, unknown> }> {
      let answer = { status: 0, json: {} as Record<string, unknown> };
      for (let i = 0; i < 100 && answer.status !== wanted; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        const response = await fetch(`${fragile.url}/readyz`);
        answer = { status: response.status, json: (await response.json()) as Record<string, unknown> };
      }
      return answer;
    }

    it('/readyz says unavailable while the job records or the outputs cannot be written', async () => {
      expect((await readyz(200)).json).toMatchObject({ status: 'ok', checks: { queue: true, storage: true, models: true } });
      // Where the records and the outputs go becomes a file: every write there fails.
      for (const sub of ['jobs', 'outputs']) {
        await mkdir(join(dataDir(), sub), { recursive: true });
        await rename(join(dataDir(), sub), join(dataDir(), `${sub}.moved`));
        await writeFile(join(dataDir(), sub), 'not a directory');
      }
      const down = await readyz(503);
      expect(down).toMatchObject({ status: 503, json: { status: 'unavailable', checks: { queue: false, storage: false } } });
      for (const sub of ['jobs', 'outputs']) {
        await rm(join(dataDir(), sub));
        await rename(join(dataDir(), `${sub}.moved`), join(dataDir(), sub));
      }
      expect((await readyz(200)).status).toBe(200);
    });
  });

  describe('with private URLs refused', () => {
    let strict: RunningServer;
    beforeAll(async () => {
      strict = await startServer(
        loadConfig(env({ SUPERRES_ALLOW_PRIVATE_URLS: 'false', SUPERRES_DATA_DIR: join(dir, 'data-strict') })),
        { logger: false },
      );
    });
    afterAll(() => strict?.close());

    it('refuses a loopback image URL', async () => {
      const answer = await post(strict.url, SR, { key: KEY, url: `${files.url}/baby.png`, model_id: MODEL });
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ status: 'error' });
      expect(String(answer.json.message)).toMatch(/private|loopback|refus/i);
      expect((await fetch(`${strict.url}/healthz`)).status).toBe(200);
    });

    it("reads its own uploads and outputs from storage, with the guard still on", async () => {
      const image = (await readFile(fixture('images', 'set5', 'LRx4', 'baby.png'))).toString('base64');
      const uploaded = await post(strict.url, '/api/v1/enterprise/upload_image', { key: KEY, image });
      expect(String(uploaded.json.output)).toMatch(/^http:\/\/127\.0\.0\.1:/);
      const first = await post(strict.url, SR, { key: KEY, url: uploaded.json.output, model_id: MODEL, scale: 2 });
      expect(first.json).toMatchObject({ status: 'success' });
      // An output of this server as the next input: also read from storage.
      const second = await post(strict.url, SR, { key: KEY, url: first.json.output, model_id: MODEL, scale: 1 });
      expect(second.json).toMatchObject({ status: 'success' });
      const meta = await sharp(Buffer.from(await (await fetch(String(second.json.output))).arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([252, 252]);
      // Anything else on this server's address is still refused.
      const other = await post(strict.url, SR, { key: KEY, url: `${strict.config.publicUrl}/outputs/../api-key`, model_id: MODEL });
      expect(other.status).toBe(400);
    });
  });
});
