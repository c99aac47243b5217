// A bounded soak on loopback: the real server (the built CLI's `serve`, embedded queue, local
// storage) takes 1000 jobs, 8 at a time. Every job succeeds exactly once, every output is stored,
// and the server's memory stays flat once warm.
import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { spawnServe } from './support/serve-child.js';

const weights = needsFixture('soak: 400 jobs, memory flat, none lost', 'weights', 'realesr-animevideov3.pth');
const JOBS = 1000;
const AT_ONCE = 8;
/** RSS may grow this much between the warm point and the end (allocator noise, not a leak). */
const FLAT_BYTES = 64 * 2 ** 20;

/** The server process's resident memory, from the kernel. */
function rssOf(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

describe.skipIf(weights.missing)(weights.title, () => {
  let dir: string;
  let images: Server;
  let imageUrl: string;
  let server: { child: ChildProcess; base: string } | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-soak-'));
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', 'realesr-animevideov3.pth'));
    const small = await sharp(fixture('images', 'set5', 'LRx4', 'baby.png')).resize(24, 24).png().toBuffer();
    images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(small));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/small.png`;
    server = await spawnServe({
      SUPERRES_PORT: '0',
      SUPERRES_DATA_DIR: join(dir, 'data'),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: 'soak-key',
      SUPERRES_ALLOW_PRIVATE_URLS: 'true',
      SUPERRES_PER_KEY_QUEUE_LIMIT: String(AT_ONCE * 2),
      SUPERRES_SYNC_WAIT_MS: '120000',
    });
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null) {
      const exited = new Promise((resolve) => server!.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
    images?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`${JOBS} jobs, ${AT_ONCE} at a time: each succeeds once, every output stored, memory flat`, async () => {
    const ids = new Set<string>();
    const failures: string[] = [];
    const rss: number[] = [];
    let next = 0;
    const client = async () => {
      for (let n = next++; n < JOBS; n = next++) {
        const response = await fetch(`${server!.base}/api/v1/enterprise/super_resolution`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: 'soak-key', url: imageUrl, model_id: 'realesr-animevideov3', scale: 2 }),
        });
        const body = (await response.json()) as { status: string; id: string; message?: string };
        if (response.status !== 200 || body.status !== 'success') failures.push(`job ${n}: ${response.status} ${JSON.stringify(body)}`);
        else ids.add(body.id);
        if (n % 25 === 0) rss[n / 25] = rssOf(server!.child);
      }
    };
    await Promise.all(Array.from({ length: AT_ONCE }, client));
    rss.push(rssOf(server!.child));
    expect(failures).toEqual([]);
    expect(ids.size).toBe(JOBS);
    expect((await readdir(join(dir, 'data', 'outputs'))).filter((f) => f.endsWith('.png'))).toHaveLength(JOBS);
    // Warm after a quarter of the jobs: the model, ONNX Runtime's arenas and the caches are in.
    const warm = rss[Math.floor(rss.length / 4)]!;
    const late = Math.max(...rss.slice(Math.floor(rss.length / 2)).filter((x) => x !== undefined));
    expect(late - warm, `RSS samples (MiB): ${rss.map((x) => Math.round(x / 2 ** 20)).join(' ')}`).toBeLessThan(FLAT_BYTES);
  }, 600_000); // 38 s alone on this machine; a bound for loaded ones, not a speed claim.
});
