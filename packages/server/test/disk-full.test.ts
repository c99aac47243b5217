// A data directory that fills up, or turns read-only: /readyz says so, submissions are refused cleanly (nothing
// accepted that could be lost), the server stays up, and it recovers once space is freed. The
// data directory is a small tmpfs (needs permission to mount: skipped, with the reason, without).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';
import { readyzUntil } from './support/readyz.js';

/** Whether this process may mount a tmpfs (root in a permissive container, CI). */
function canMount(): string | undefined {
  const probe = mkdtempSync(join(tmpdir(), 'superres-mount-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (mounted.status === 0) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return mounted.status === 0 ? undefined : `cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim()})`;
}

const weights = needsFixture('a full or read-only data directory', 'weights', 'realesr-animevideov3.pth');
const mountProblem = weights.missing ? undefined : canMount();
const title = mountProblem ? `a full or read-only data directory (skipped: ${mountProblem})` : weights.title;

describe.skipIf(weights.missing || mountProblem !== undefined)(title, () => {
  let dir: string;
  let dataDir: string;
  let images: Server;
  let imageUrl: string;
  let server: RunningServer;
  const ballast = () => join(dataDir, 'ballast');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-full-'));
    dataDir = join(dir, 'data');
    await mkdir(dataDir);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dataDir], { encoding: 'utf8' });
    if (mounted.status !== 0) throw new Error(`mount failed: ${mounted.stderr}`);
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', 'realesr-animevideov3.pth'));
    const baby = readFileSync(fixture('images', 'set5', 'LRx4', 'baby.png'));
    images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(baby));
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/baby.png`;
    server = await startServer(
      loadConfig({
        SUPERRES_PORT: '0',
        SUPERRES_DATA_DIR: dataDir,
        SUPERRES_MODELS_DIR: join(dir, 'models'),
        SUPERRES_API_KEYS: 'k',
        SUPERRES_ALLOW_PRIVATE_URLS: 'true',
        SUPERRES_SYNC_WAIT_MS: '60000',
        SUPERRES_TILE: '64',
      }),
      { logger: false },
    );
  });

  afterAll(async () => {
    await server?.close();
    images?.close();
    if (dataDir) spawnSync('umount', [dataDir]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const submit = async () => {
    const response = await fetch(`${server.url}/api/v1/enterprise/super_resolution`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'k', url: imageUrl, model_id: 'realesr-animevideov3', scale: 1 }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), json: (await response.json()) as Record<string, unknown> };
  };
  const readyz = (wanted: number) => readyzUntil(server.url, wanted);

  it('refuses work cleanly while full, stays up, and recovers when space is freed', async () => {
    expect((await submit()).json.status).toBe('success');
    // Fill the file system to the last byte.
    const fd = openSync(ballast(), 'w');
    try {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
    expect(await readyz(503)).toBe(503);
    const refused = await submit();
    expect(refused.status).toBe(503);
    // The body says when to retry as a 429's does, and agrees with the header.
    expect(refused.json).toMatchObject({ status: 'error', code: 'E_SERVICE_UNAVAILABLE', message: expect.stringMatching(/cannot record jobs/), retry_after: 30 });
    expect(refused.retryAfter).toBe('30');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    rmSync(ballast());
    expect(await readyz(200)).toBe(200);
    expect((await submit()).json.status).toBe('success');
  });

  it('refuses work cleanly while the data directory is read-only, and recovers', async () => {
    const remount = (mode: 'ro' | 'rw') => {
      const done = spawnSync('mount', ['-o', `remount,${mode}`, dataDir], { encoding: 'utf8' });
      if (done.status !== 0) throw new Error(`remount ${mode} failed: ${done.stderr}`);
    };
    remount('ro');
    try {
      expect(await readyz(503)).toBe(503);
      const refused = await submit();
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ status: 'error', code: 'E_SERVICE_UNAVAILABLE', message: expect.stringMatching(/cannot record jobs/), retry_after: 30 });
      expect(refused.retryAfter).toBe('30');
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      remount('rw');
    }
    expect(await readyz(200)).toBe(200);
    expect((await submit()).json.status).toBe('success');
  });
});
