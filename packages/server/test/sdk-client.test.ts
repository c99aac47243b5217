// The SDK client against the real running server: what a TypeScript user of superres does.
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, SuperresApiError } from '@superres/sdk';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';

const weights = needsFixture('the SDK client against the running server', 'weights', 'realesr-animevideov3.pth');
const MODEL = 'realesr-animevideov3';
const KEY = 'sdk-user-key';
const ADMIN = 'sdk-admin-key';

describe.skipIf(weights.missing)(weights.title, () => {
  let dir: string;
  let images: Server;
  let imageUrl: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-sdk-'));
    await mkdir(join(dir, 'models'), { recursive: true });
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    const bird = await readFile(fixture('images', 'set5', 'LRx4', 'bird.png'));
    const pth = await readFile(fixture('weights', 'realesr-animevideov3.pth'));
    images = createServer((req, res) =>
      req.url === '/model.pth'
        ? res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(pth)
        : res.writeHead(200, { 'content-type': 'image/png' }).end(bird),
    );
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/bird.png`;
    server = await startServer(
      loadConfig({
        SUPERRES_PORT: '0',
        SUPERRES_DATA_DIR: join(dir, 'data'),
        SUPERRES_MODELS_DIR: join(dir, 'models'),
        SUPERRES_API_KEYS: KEY,
        SUPERRES_ADMIN_KEYS: ADMIN,
        SUPERRES_ALLOW_PRIVATE_URLS: 'true',
        // Answer "processing" at once, so the client has to poll fetch/{id}.
        SUPERRES_SYNC_WAIT_MS: '0',
      }),
      { logger: false },
    );
  });

  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => images?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('superResolution() polls until the output is ready and the output is 2x the input', async () => {
    const client = createClient({ baseUrl: server.url, key: KEY });
    const result = await client.superResolution(
      { url: imageUrl, scale: 2, model_id: MODEL, face_enhance: false },
      { timeoutMs: 120_000, pollIntervalMs: 100 },
    );
    expect(result.status).toBe('success');
    expect(result.generationTime).toBeGreaterThan(0);
    const png = Buffer.from(await (await fetch(result.output)).arrayBuffer());
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([144, 144]);
    const again = await client.fetch(String(result.id));
    expect(again).toMatchObject({ status: 'success', output: result.output });
  });

  it('lists the models, and management calls need the admin key', async () => {
    const user = createClient({ baseUrl: server.url, key: KEY });
    const models = await user.getAllModels();
    expect(models.map((m) => m.model_id)).toEqual(expect.arrayContaining([MODEL, 'realesr-general-x4v3']));
    expect(models.find((m) => m.model_id === MODEL)?.installed).toBe(true);
    await expect(user.systemDetails()).rejects.toMatchObject({ status: 403 });
    const admin = createClient({ baseUrl: server.url, key: KEY, adminKey: ADMIN });
    const verified = await admin.verifyModel(MODEL);
    expect(verified.verified).toBe(true);
  });

  it('loadModel() registers a model from a URL (sha256 checked) that then upscales', async () => {
    const admin = createClient({ baseUrl: server.url, key: KEY, adminKey: ADMIN });
    const modelUrl = imageUrl.replace('/bird.png', '/model.pth');
    await expect(admin.loadModel({ model_id: 'from-url', url: modelUrl, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      status: 409,
    });
    const sha256 = 'b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d';
    const loaded = await admin.loadModel({ model_id: 'from-url', url: modelUrl, sha256 });
    expect(loaded.status).toBe('success');
    const result = await admin.superResolution({ url: imageUrl, model_id: 'from-url' }, { timeoutMs: 120_000, pollIntervalMs: 100 });
    const meta = await sharp(Buffer.from(await (await fetch(result.output)).arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([288, 288]);
  });

  it('uploadImage() returns a URL serving the same bytes', async () => {
    const client = createClient({ baseUrl: server.url, key: KEY });
    const bytes = new Uint8Array(await readFile(fixture('images', 'set5', 'LRx4', 'head.png')));
    const uploaded = await client.uploadImage(bytes);
    const served = new Uint8Array(await (await fetch(uploaded.output)).arrayBuffer());
    expect(Buffer.compare(Buffer.from(served), Buffer.from(bytes))).toBe(0);
  });

  it('a wrong key is a typed SuperresApiError with the HTTP status', async () => {
    const client = createClient({ baseUrl: server.url, key: 'not-a-key' });
    const error = await client.superResolution({ url: imageUrl, model_id: MODEL }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuperresApiError);
    expect(error).toMatchObject({ status: 401 });
  });
});
