// S3 going away under a running server (real s3rver on loopback, halted and revived on the same
// port with its objects kept): a blip during a job's write is ridden out by the write's retries;
// a longer outage fails the job cleanly (the server stays up, /readyz says why) and the server
// takes jobs again once S3 is back.
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import { readyzUntil } from './support/readyz.js';
import { startS3rver, type RunningS3rver } from './support/s3rver.js';

const weights = needsFixture('S3 outages', 'weights', 'realesr-animevideov3.pth');

describe.skipIf(weights.missing)(weights.title, () => {
  let dir: string;
  let s3: RunningS3rver;
  let images: Server;
  let imageUrl: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-s3-outage-'));
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', 'realesr-animevideov3.pth'));
    const baby = readFileSync(fixture('images', 'set5', 'LRx4', 'baby.png'));
    images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(baby));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/baby.png`;
    s3 = await startS3rver();
    server = await startServer(
      loadConfig({
        SUPERRES_PORT: '0',
        SUPERRES_DATA_DIR: join(dir, 'data'),
        SUPERRES_MODELS_DIR: join(dir, 'models'),
        SUPERRES_API_KEYS: 'k',
        SUPERRES_ALLOW_PRIVATE_URLS: 'true',
        SUPERRES_SYNC_WAIT_MS: '0',
        SUPERRES_TILE: '64',
        SUPERRES_S3_BUCKET: s3.bucket,
        SUPERRES_S3_ENDPOINT: s3.endpoint,
        SUPERRES_S3_REGION: s3.region,
        SUPERRES_S3_ACCESS_KEY_ID: s3.accessKeyId,
        SUPERRES_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      }),
      { logger: false },
    );
  });

  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    images?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  /** Submits a job and polls it until it is finished. */
  async function job(): Promise<{ status: number; json: Record<string, unknown> }> {
    const first = await post('/api/v1/enterprise/super_resolution', { key: 'k', url: imageUrl, model_id: 'realesr-animevideov3', scale: 1 });
    let answer = first;
    for (let i = 0; i < 600 && answer.json.status === 'processing'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await post(`/api/v1/enterprise/fetch/${String(first.json.id)}`, { key: 'k' });
    }
    return answer;
  }
  const readyz = (wanted: number) => readyzUntil(server.url, wanted);

  it('rides out a blip during a write: the job still succeeds', async () => {
    expect((await job()).json.status).toBe('success');
    await s3.halt();
    // While S3 is down, its port refuses nothing but answers nothing either: a listener that drops
    // every connection, so the test sees the job's first write attempt (a state, not a time).
    const port = Number(new URL(s3.endpoint).port);
    let attempts = 0;
    const down = createNetServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => down.listen(port, '127.0.0.1', resolve));
    const pending = job();
    for (let i = 0; i < 1200 && attempts === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(attempts).toBeGreaterThan(0);
    await new Promise<void>((resolve) => down.close(() => resolve()));
    // Back at once: the write's retries (0.5, 2 and 5 s after a failed attempt) find it.
    await s3.revive();
    const answer = await pending;
    expect(answer.json).toMatchObject({ status: 'success' });
    expect((await fetch(String(answer.json.output))).status).toBe(200);
  });

  it('fails a job cleanly through a long outage, says so in /readyz, and recovers', async () => {
    await s3.halt();
    expect(await readyz(503)).toBe(503);
    const failed = await job();
    expect(failed.status).toBe(200);
    expect(failed.json).toMatchObject({ status: 'error', http_status: 500, message: 'Internal error while processing the image' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await s3.revive();
    expect(await readyz(200)).toBe(200);
    expect((await job()).json.status).toBe('success');
  });
});
