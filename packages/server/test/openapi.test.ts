// /openapi.json of the real running server: every registered route documented, every live answer
// (successes and errors) as documented, Redocly's recommended rules clean, and a client generated
// from it by openapi-typescript compiling against openapi-fetch with real types.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import { OpenApiValidator } from './support/openapi-validator.js';

const weights = needsFixture('/openapi.json against the running server', 'weights', 'realesr-animevideov3.pth');
const MODEL = 'realesr-animevideov3';
const KEY = 'openapi-user-key';
const ADMIN = 'openapi-admin-key';
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** A package's bin script, run with this Node (no shell, no PATH lookup). */
function binOf(pkg: string, name: string): string {
  const manifestPath = require.resolve(`${pkg}/package.json`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[name]!;
  return join(dirname(manifestPath), bin);
}

function run(args: string[], cwd = packageDir): { status: number | null; out: string } {
  const result = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    timeout: 180_000,
  });
  return { status: result.status, out: `${result.stdout}\n${result.stderr}` };
}

describe.skipIf(weights.missing)(weights.title, () => {
  let dir: string;
  let images: Server;
  let imagesUrl: string;
  let server: RunningServer;
  let document: Record<string, unknown>;
  let validator: OpenApiValidator;

  /** Calls the server and checks the answer against the document. */
  async function call(method: 'get' | 'post', template: string, options: { path?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const response = await fetch(`${server.url}${options.path ?? template}`, {
      method: method.toUpperCase(),
      headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const contentType = response.headers.get('content-type') ?? '';
    const bytes = Buffer.from(await response.arrayBuffer());
    const body = contentType.includes('json') ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : undefined;
    validator.check({ method, path: template, status: response.status, contentType, body });
    // 431 is written by Node's parser handler before there is a request (and so an id).
    if (response.status !== 431) expect(response.headers.get('x-request-id')).toBeTruthy();
    return { status: response.status, body: body ?? {}, bytes };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-openapi-'));
    await mkdir(join(dir, 'models'), { recursive: true });
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    const bird = await readFile(fixture('images', 'set5', 'LRx4', 'bird.png'));
    images = createServer((req, res) =>
      req.url === '/bird.png' ? res.writeHead(200, { 'content-type': 'image/png' }).end(bird) : res.writeHead(404).end(),
    );
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
    server = await startServer(
      loadConfig({
        SUPERRES_PORT: '0',
        SUPERRES_DATA_DIR: join(dir, 'data'),
        SUPERRES_MODELS_DIR: join(dir, 'models'),
        SUPERRES_API_KEYS: KEY,
        SUPERRES_ADMIN_KEYS: ADMIN,
        SUPERRES_ALLOW_PRIVATE_URLS: 'true',
        SUPERRES_DEFAULT_MODEL: MODEL,
        SUPERRES_TILE: '64',
        SUPERRES_MODEL_IMPORT_DIRS: fixture('weights'),
      }),
      { logger: false },
    );
    const response = await fetch(`${server.url}/openapi.json`);
    document = (await response.json()) as Record<string, unknown>;
    validator = new OpenApiValidator(document);
    await writeFile(join(dir, 'openapi.json'), JSON.stringify(document));
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => images?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('documents exactly the routes the server registers, each with an operationId and a 4xx answer', () => {
    // printRoutes draws a tree: a child line carries the rest of its parent's path.
    const registered = new Set<string>();
    const stack: string[] = [];
    for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^([│ ]*)[├└]── (\/\S*)(?: \(([A-Z, ]+)\))?/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 4;
      stack.length = depth;
      stack.push(match[2]!);
      for (const method of match[3]?.split(', ') ?? []) {
        if (method !== 'HEAD' && method !== 'OPTIONS') registered.add(`${method.toLowerCase()} ${stack.join('').replace(/:(\w+)/g, '{$1}')}`);
      }
    }
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, { operationId?: string; responses: object }>>)) {
      for (const [method, operation] of Object.entries(item)) {
        documented.add(`${method} ${path}`);
        expect(operation.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(Object.keys(operation.responses).some((s) => s.startsWith('4')), `${method} ${path} has a 4xx`).toBe(true);
      }
    }
    expect([...documented].sort()).toEqual([...registered].sort());
    expect(document.servers).toEqual([expect.objectContaining({ url: server.config.publicUrl })]);
  });

  it('answers every operation as documented: successes and errors', async () => {
    const sr = '/api/v1/enterprise/super_resolution';
    const done = await call('post', sr, { body: { key: KEY, url: `${imagesUrl}/bird.png`, scale: 2, model_id: MODEL } });
    expect(done.body.status).toBe('success');
    // The key as a Bearer token instead of in the body.
    const bearer = await call('post', sr, { body: { url: `${imagesUrl}/bird.png`, scale: 2 }, headers: { authorization: `Bearer ${KEY}` } });
    expect(bearer.body.status).toBe('success');
    expect((await call('post', sr, { body: { url: `${imagesUrl}/bird.png` } })).status).toBe(401);
    expect((await call('post', sr, { body: { key: KEY, url: 'ftp://x/y.png' } })).status).toBe(400);
    expect((await call('post', sr, { body: { key: KEY, url: `${imagesUrl}/bird.png`, model_id: 'nope' } })).status).toBe(404);
    expect((await call('post', sr, { body: '{"key":' })).status).toBe(400);
    expect((await call('post', sr, { body: '<key/>', headers: { 'content-type': 'application/xml' } })).status).toBe(415);
    expect((await call('post', sr, { body: { key: KEY, url: `${imagesUrl}/bird.png`, track_id: 'x'.repeat(100_000) } })).status).toBe(413);
    const failed = await call('post', sr, { body: { key: KEY, url: `${imagesUrl}/missing.png`, model_id: MODEL } });
    expect(failed).toMatchObject({ status: 502, body: { status: 'error', code: 'E_DOWNLOAD', http_status: 502 } });

    const fetchTemplate = '/api/v1/enterprise/fetch/{id}';
    const polled = await call('post', fetchTemplate, { path: `/api/v1/enterprise/fetch/${String(done.body.id)}`, body: { key: KEY } });
    expect(polled.body).toMatchObject({ status: 'success', output: done.body.output });
    const polledFailure = await call('post', fetchTemplate, { path: `/api/v1/enterprise/fetch/${String(failed.body.id)}`, body: { key: KEY } });
    expect(polledFailure).toMatchObject({ status: 200, body: { status: 'error', http_status: 502 } });
    expect((await call('post', fetchTemplate, { path: '/api/v1/enterprise/fetch/no-such-job', body: { key: KEY } })).status).toBe(404);
    const alias = '/api/v1/enterprise/super_resolution/fetch/{id}';
    expect((await call('post', alias, { path: `/api/v1/enterprise/super_resolution/fetch/${String(done.body.id)}`, body: { key: KEY } })).status).toBe(200);

    const upload = '/api/v1/enterprise/upload_image';
    const png = await readFile(fixture('images', 'set5', 'LRx4', 'bird.png'));
    const uploaded = await call('post', upload, { body: { key: KEY, image: png.toString('base64') } });
    expect(uploaded.status).toBe(200);
    expect((await call('post', upload, { body: { key: KEY, image: Buffer.from('not an image').toString('base64') } })).status).toBe(422);

    const outputName = String(done.body.output).split('/').pop()!;
    const output = await call('get', '/outputs/{name}', { path: `/outputs/${outputName}` });
    expect(output.bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect((await call('get', '/outputs/{name}', { path: `/outputs/${'0'.repeat(32)}.png` })).status).toBe(404);

    const models = await call('post', '/api/v1/enterprise/get_all_models', { body: { key: KEY } });
    expect(models.body.models).toEqual(expect.arrayContaining([expect.objectContaining({ model_id: MODEL, default: true })]));
    const admin = { key: ADMIN };
    expect((await call('post', '/api/v1/enterprise/system_details', { body: { key: KEY } })).status).toBe(403);
    expect((await call('post', '/api/v1/enterprise/system_details', { body: admin })).status).toBe(200);
    const loaded = await call('post', '/api/v1/enterprise/load_model', {
      body: { ...admin, model_id: 'imported', path: fixture('weights', 'realesr-animevideov3.pth') },
    });
    expect(loaded.body).toMatchObject({ status: 'success', model: { model_id: 'imported' } });
    expect((await call('post', '/api/v1/enterprise/load_model', { body: { ...admin, model_id: 'x', path: fixture('images', 'set5', 'LRx4', 'bird.png') } })).status).toBe(403);
    expect((await call('post', '/api/v1/enterprise/load_model', { body: { ...admin, model_id: 'x', path: fixture('weights', 'absent.pth') } })).status).toBe(404);
    expect((await call('post', '/api/v1/enterprise/verify_model', { body: { ...admin, model_id: 'imported' } })).body.verified).toBe(true);
    const download = '/api/v1/enterprise/download_model';
    const weightsFile = await readFile(fixture('weights', 'realesr-animevideov3.pth'));
    expect((await call('post', download, { body: { key: KEY, model_id: MODEL } })).bytes.equals(weightsFile)).toBe(true);
    expect((await call('post', download, { body: { key: KEY, model_id: 'imported' } })).status).toBe(403);
    expect((await call('post', download, { body: { ...admin, model_id: 'imported' } })).bytes.equals(weightsFile)).toBe(true);
    expect((await call('post', download, { body: { key: KEY, model_id: 'RealESRGAN_x4plus' } })).status).toBe(404);
    expect((await call('post', '/api/v1/enterprise/verify_model', { body: { ...admin, model_id: 'nope' } })).status).toBe(404);
    expect((await call('post', '/api/v1/enterprise/delete_model', { body: { ...admin, model_id: 'imported' } })).status).toBe(200);
    expect((await call('post', '/api/v1/enterprise/delete_model', { body: { ...admin, model_id: 'imported' } })).status).toBe(404);
    expect((await call('post', '/api/v1/enterprise/clear_cache', { body: admin })).body.status).toBe('success');

    expect((await call('get', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call('get', '/readyz')).body.status).toBe('ok');
    expect((await call('get', '/metrics')).bytes.toString('utf8')).toContain('superres_jobs_submitted_total');
    expect((await call('get', '/openapi.json')).status).toBe(200);
    // A malformed URL and oversized headers are answered before routing, still in the documented shape.
    expect((await call('get', '/healthz', { headers: { 'x-big': 'x'.repeat(20_000) } })).status).toBe(431);

    // Every operation was seen answering at least once.
    const operations = Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    const answered = new Set([...validator.seen].map((entry) => entry.split(' ').slice(0, 2).join(' ')));
    expect(operations.filter((op) => !answered.has(op))).toEqual([]);
  });

  it("passes Redocly's recommended rules with no error and no warning", () => {
    const file = join(dir, 'openapi.json');
    const { status, out } = run([binOf('@redocly/cli', 'redocly'), 'lint', file, '--extends', 'recommended', '--format', 'json']);
    const report = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(status).toBe(0);
  });

  it('generates a typed client (openapi-typescript) that compiles with openapi-fetch', async () => {
    // Under the package, so the client's `openapi-fetch` import resolves from its node_modules.
    const out = join(packageDir, 'node_modules', '.cache', 'openapi-client');
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    const generated = run([binOf('openapi-typescript', 'openapi-typescript'), join(dir, 'openapi.json'), '-o', join(out, 'api.d.ts')]);
    expect(generated.status, generated.out).toBe(0);
    const types = await readFile(join(out, 'api.d.ts'), 'utf8');
    for (const name of ['SuperResolutionRequest', 'SuccessResponse', 'ProcessingResponse', 'ErrorResponse', 'GetAllModelsResponse', 'WebhookPayload']) {
      expect(types).toContain(`${name}: {`);
    }
    await writeFile(join(out, 'package.json'), '{ "type": "module" }');
    await writeFile(
      join(out, 'client.ts'),
      [
        "import createClient from 'openapi-fetch';",
        "import type { components, paths } from './api.js';",
        '',
        "const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3000' });",
        'export async function upscale(url: string): Promise<string | undefined> {',
        "  const { data, error } = await client.POST('/api/v1/enterprise/super_resolution', { body: { key: 'k', url, scale: 2, face_enhance: false } });",
        '  if (error) {',
        "    const code: string | undefined = error.code;",
        '    throw new Error(`${code}: ${error.message}`);',
        '  }',
        "  if (data.status === 'processing') {",
        '    const eta: number = data.eta;',
        "    const polled = await client.POST('/api/v1/enterprise/fetch/{id}', { params: { path: { id: String(data.id) } }, body: { key: 'k' } });",
        "    return polled.data?.status === 'success' ? polled.data.output : undefined;",
        '  }',
        '  return data.output;',
        '}',
        "export type Model = components['schemas']['ModelInfo'];",
        "export const scaleOf = (model: Model): number => model.scale;",
        '// The types are real: these must not compile.',
        '// @ts-expect-error an unknown route',
        "void client.POST('/api/v1/enterprise/no_such_route', { body: {} });",
        "// @ts-expect-error scale is a number or a numeric string, not a boolean",
        "void client.POST('/api/v1/enterprise/super_resolution', { body: { key: 'k', url: 'http://x/y.png', scale: true } });",
        '',
      ].join('\n'),
    );
    const tsc = run([
      require.resolve('typescript/bin/tsc'),
      '--ignoreConfig',
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      join(out, 'client.ts'),
    ]);
    expect(tsc.out.trim()).toBe('');
    expect(tsc.status).toBe(0);
  });
});
