// The API process on BullMQ (no worker of its own) + two `superres worker` processes, outputs in
// S3 (s3rver): jobs submitted through the API are run by the workers and stored in the bucket.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import { startRedis, type RunningRedis } from './support/redis.js';
import { startS3rver, type RunningS3rver } from './support/s3rver.js';

const weights = needsFixture('Redis workers and S3 storage', 'weights', 'realesr-animevideov3.pth');
const bin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');
const haveRedis = existsSync(process.env.SUPERRES_REDIS_SERVER ?? '/usr/bin/redis-server');
const skipWhy = !existsSync(bin) ? `${bin} not built` : !haveRedis ? 'no redis-server' : undefined;
const title = skipWhy ? `${weights.title} (skipped: ${skipWhy})` : weights.title;
const KEY = 'scale-key';
const MODEL = 'realesr-animevideov3';

describe.skipIf(weights.missing || skipWhy !== undefined)(title, () => {
  let dir: string;
  let redis: RunningRedis;
  let s3: RunningS3rver;
  let api: RunningServer;
  const workers: ChildProcess[] = [];
  const workerLogs: string[] = [];
  const files = createServer((_req, res) => {
    void readFile(fixture('images', 'set5', 'LRx4', 'baby.png')).then((b) => res.writeHead(200, { 'content-type': 'image/png' }).end(b));
  });
  let filesUrl: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-scale-'));
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    [redis, s3] = await Promise.all([startRedis(), startS3rver()]);
    env = {
      SUPERRES_PORT: '0',
      SUPERRES_DATA_DIR: join(dir, 'data'),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: KEY,
      SUPERRES_ADMIN_KEYS: 'scale-admin',
      SUPERRES_ALLOW_PRIVATE_URLS: 'true',
      SUPERRES_REDIS_URL: redis.url,
      SUPERRES_WORKER: 'false',
      SUPERRES_S3_BUCKET: s3.bucket,
      SUPERRES_S3_ENDPOINT: s3.endpoint,
      SUPERRES_S3_REGION: s3.region,
      SUPERRES_S3_ACCESS_KEY_ID: s3.accessKeyId,
      SUPERRES_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      SUPERRES_SYNC_WAIT_MS: '60000',
      SUPERRES_WEBHOOK_SECRET: 'scale-secret',
    };
    api = await startServer(loadConfig(env), { logger: false });
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [bin, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      workers.push(child);
      const index = workerLogs.push('') - 1;
      await new Promise<void>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        // The worker's log: JSON lines on stdout.
        child.stdout!.on('data', (d: Buffer) => {
          workerLogs[index] += d.toString();
          if (workerLogs[index]!.includes('"msg":"superres worker started"')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${err}`)));
      });
    }
  });

  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await api?.close();
    await Promise.all([redis?.stop(), s3?.stop()]);
    files.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs jobs on the workers and stores the outputs in S3', async () => {
    const answers = await Promise.all(
      [2, 3, 4, 2].map(async (scale) => {
        const response = await fetch(`${api.url}/api/v1/enterprise/super_resolution`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: KEY, url: `${filesUrl}/baby.png`, scale, model_id: MODEL }),
        });
        return { scale, json: (await response.json()) as Record<string, unknown> };
      }),
    );
    for (const { scale, json } of answers) {
      expect(json.status).toBe('success');
      const output = String(json.output);
      expect(output.startsWith(s3.endpoint)).toBe(true);
      const got = await fetch(output);
      expect(got.status).toBe(200);
      const meta = await sharp(Buffer.from(await got.arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([126 * scale, 126 * scale]);
    }
    // Both workers took jobs (4 jobs at once, one job at a time per worker).
    expect(workerLogs.map((log) => log.includes('"job started"'))).toEqual([true, true]);
    const details = await fetch(`${api.url}/api/v1/enterprise/system_details`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'scale-admin' }),
    });
    expect(await details.json()).toMatchObject({ queue: { backend: 'redis' }, storage: 's3' });
  });
});
