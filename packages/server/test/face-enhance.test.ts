// face_enhance: true through the real server (embedded queue, local storage). Weights come from a
// loopback mirror (SUPERRES_MODELS_BASE_URL): the real RetinaFace MobileNet-0.25 file, checked
// against its catalog sha256, and small GFPGANv1Clean and ParseNet checkpoints (the released
// architectures at 1/16 width, test-support/face-checkpoints.ts) imported with load_model. Where
// the face weights are nowhere to be had, the job fails naming each file, and plain upscales work.
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallGfpganCheckpoint, smallParseNetCheckpoint } from '../../../test-support/face-checkpoints.js';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';

const upscaler = needsFixture('face_enhance through the server', 'weights', 'realesr-animevideov3.pth');
const detector = needsFixture(upscaler.title, 'weights', 'detection_mobilenet0.25_Final.pth');
const photo = needsFixture(detector.title, 'images', 'faces', 'whole', 'Blake_Lively.jpg');
const MODEL = 'realesr-animevideov3';
const KEY = 'face-key';
const ADMIN = 'face-admin';
const SR = '/api/v1/enterprise/super_resolution';

async function post(base: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function startMirror(files: Record<string, Uint8Array>): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    requests.push(name);
    const body = files[name];
    if (!body) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

async function rgbOf(url: string): Promise<{ width: number; height: number; data: Buffer }> {
  const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

describe.skipIf(upscaler.missing || detector.missing || photo.missing)(photo.title, () => {
  let dir: string;
  let mirror: Awaited<ReturnType<typeof startMirror>>;
  let server: RunningServer | undefined;
  const env = (extra: Record<string, string>) => ({
    SUPERRES_PORT: '0',
    SUPERRES_DATA_DIR: join(dir, 'data'),
    SUPERRES_MODELS_DIR: join(dir, 'models'),
    SUPERRES_MODELS_BASE_URL: mirror.url,
    SUPERRES_API_KEYS: KEY,
    SUPERRES_ADMIN_KEYS: ADMIN,
    SUPERRES_ALLOW_PRIVATE_URLS: 'true',
    SUPERRES_SYNC_WAIT_MS: '240000',
    ...extra,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-faces-'));
    await mkdir(join(dir, 'models'), { recursive: true });
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    mirror = await startMirror({
      'detection_mobilenet0.25_Final.pth': new Uint8Array(await readFile(fixture('weights', 'detection_mobilenet0.25_Final.pth'))),
      'small-gfpgan.safetensors': smallGfpganCheckpoint(),
      'small-parsenet.safetensors': smallParseNetCheckpoint(),
      'Blake_Lively.jpg': new Uint8Array(await readFile(fixture('images', 'faces', 'whole', 'Blake_Lively.jpg'))),
    });
  });

  afterAll(async () => {
    await server?.close();
    mirror?.server.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names every missing face weights file when none can be had, and plain upscales keep working', async () => {
    server = await startServer(loadConfig(env({})), { logger: false });
    const models = await post(server.url, '/api/v1/enterprise/get_all_models', { key: KEY });
    const faces = models.json.face_enhance as { models: { role: string; model_id: string; installed: boolean; url?: string }[]; missing: string[] };
    expect(faces.missing).toEqual(['GFPGANv1.4', 'retinaface_resnet50', 'parsenet']);
    expect(faces.models.find((m) => m.role === 'restorer')?.url).toBe(`${mirror.url}/GFPGANv1.4.pth`);

    const failed = await post(server.url, SR, { key: KEY, url: `${mirror.url}/Blake_Lively.jpg`, scale: 2, model_id: MODEL, webhook: null, face_enhance: true });
    expect(failed.json).toMatchObject({ status: 'error', code: 'E_DOWNLOAD' });
    const message = String(failed.json.message);
    for (const file of ['GFPGANv1.4.pth', 'detection_Resnet50_Final.pth', 'parsing_parsenet.pth']) expect(message).toContain(`${mirror.url}/${file}`);
    for (const id of ['GFPGANv1.4', 'retinaface_resnet50', 'parsenet']) expect(message).toContain(join(dir, 'models', `${id}.pth`));
    expect(message).toContain('SUPERRES_MODELS_BASE_URL');

    const plain = await post(server.url, SR, { key: KEY, url: `${mirror.url}/Blake_Lively.jpg`, scale: 2, model_id: MODEL, webhook: null, face_enhance: false });
    expect(plain.json).toMatchObject({ status: 'success' });
    await server.close();
    server = undefined;
  });

  it('answers the documented example body with face_enhance: true: success, 3x, faces changed and the rest as the plain upscale', async () => {
    server = await startServer(
      loadConfig(env({ SUPERRES_FACE_MODEL: 'test-gfpgan', SUPERRES_FACE_PARSER: 'test-parsenet', SUPERRES_FACE_DETECTOR: 'retinaface_mobile0.25' })),
      { logger: false },
    );
    for (const [id, file] of [['test-gfpgan', 'small-gfpgan.safetensors'], ['test-parsenet', 'small-parsenet.safetensors']]) {
      const loaded = await post(server.url, '/api/v1/enterprise/load_model', { key: ADMIN, model_id: id, url: `${mirror.url}/${file}` });
      expect(loaded.json, JSON.stringify(loaded.json)).toMatchObject({ status: 'success' });
    }
    const before = await post(server.url, '/api/v1/enterprise/get_all_models', { key: KEY });
    expect((before.json.face_enhance as { missing: string[] }).missing).toEqual(['retinaface_mobile0.25']);
    // Imported face models are not upscalers: they do not show among the models a request can name, nor can one name them.
    expect((before.json.models as { model_id: string }[]).map((m) => m.model_id)).not.toContain('test-gfpgan');
    const misuse = await post(server.url, SR, { key: KEY, url: `${mirror.url}/Blake_Lively.jpg`, model_id: 'test-gfpgan' });
    expect(misuse.status).toBe(400);
    expect(String(misuse.json.message)).toMatch(/"test-gfpgan" is a face-restorer model, not an upscaler/);

    const body = { key: KEY, url: `${mirror.url}/Blake_Lively.jpg`, scale: 3, model_id: MODEL, webhook: null, face_enhance: true };
    const enhanced = await post(server.url, SR, body);
    expect(enhanced.json, JSON.stringify(enhanced.json)).toMatchObject({ status: 'success' });
    expect(enhanced.status).toBe(200);
    expect(mirror.requests).toContain('detection_mobilenet0.25_Final.pth');
    const after = await post(server.url, '/api/v1/enterprise/get_all_models', { key: KEY });
    expect((after.json.face_enhance as { missing: string[] }).missing).toEqual([]);

    const plain = await post(server.url, SR, { ...body, face_enhance: false });
    expect(plain.json).toMatchObject({ status: 'success' });
    const [a, b] = await Promise.all([rgbOf(String(enhanced.json.output)), rgbOf(String(plain.json.output))]);
    const input = await sharp(await readFile(fixture('images', 'faces', 'whole', 'Blake_Lively.jpg'))).metadata();
    expect([a.width, a.height]).toEqual([input.width! * 3, input.height! * 3]);
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    let changed = 0;
    const box = { x0: a.width, y0: a.height, x1: -1, y1: -1 };
    for (let i = 0; i < a.data.length; i++) {
      if (a.data[i] === b.data[i]) continue;
      changed++;
      const p = Math.floor(i / 3);
      const [x, y] = [p % a.width, Math.floor(p / a.width)];
      Object.assign(box, { x0: Math.min(box.x0, x), y0: Math.min(box.y0, y), x1: Math.max(box.x1, x), y1: Math.max(box.y1, y) });
    }
    // Two faces cover a good part of this photo; everything outside the box around them is the plain upscale.
    expect(changed).toBeGreaterThan(a.data.length / 20);
    const boxArea = (box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1);
    expect(boxArea).toBeLessThan(a.width * a.height * 0.9);
  });
});
