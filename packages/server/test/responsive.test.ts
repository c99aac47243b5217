// The real server (the built CLI) with a long job: the HTTP thread keeps answering while the
// model runs in a worker, and SIGTERM ends the job within the grace time (it finishes, or goes
// back to the queue and completes after a restart). Every wait is for a state, not a time.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { cliBin as bin, spawnServe, type ServeChild } from './support/serve-child.js';

const weights = needsFixture('a long job on the real server', 'weights', 'realesr-animevideov3.pth');
const built = existsSync(bin);
const title = built ? weights.title : `${weights.title} (skipped: ${bin} not built; run pnpm build)`;
const KEY = 'responsive-key';
const MODEL = 'realesr-animevideov3';

describe.skipIf(weights.missing || !built)(title, () => {
  let dir: string;
  const children: ChildProcess[] = [];
  // Loopback only: the input images come from here.
  const files = createServer((req, res) => {
    void readFile(fixture('images', 'realesrgan', 'OST_009.png')).then((b) => res.writeHead(200, { 'content-type': 'image/png' }).end(b));
  });
  let filesUrl: string;

  async function start(extraEnv: Record<string, string> = {}): Promise<ServeChild> {
    const started = spawnServe({
      SUPERRES_PORT: '0',
      SUPERRES_DATA_DIR: join(dir, 'data'),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: KEY,
      SUPERRES_ADMIN_KEYS: 'responsive-admin',
      SUPERRES_ALLOW_PRIVATE_URLS: 'true',
      SUPERRES_SYNC_WAIT_MS: '0',
      ...extraEnv,
    });
    const server = await started;
    children.push(server.child);
    return server;
  }

  const post = async (base: string, path: string, body: unknown) =>
    (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-responsive-'));
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    files.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers /healthz again and again while a job runs', async () => {
    const { child, base } = await start();
    // 448x640 -> 1792x2560 through the model: many seconds on a small machine.
    const job = await post(base, '/api/v1/enterprise/super_resolution', { key: KEY, url: `${filesUrl}/ost.png`, scale: 4, model_id: MODEL });
    expect(job.status).toBe('processing');
    let healthy = 0;
    let status = 'processing';
    let sawProcessing = false;
    while (status === 'processing') {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      healthy++;
      const answer = await post(base, `/api/v1/enterprise/fetch/${String(job.id)}`, { key: KEY });
      status = String(answer.status);
      if (status === 'processing') {
        sawProcessing = true;
        expect(answer.eta).toBeGreaterThanOrEqual(1);
      }
    }
    expect(status).toBe('success');
    expect(sawProcessing).toBe(true);
    // Each health answer came back before the job ended: the HTTP thread never waited for the model.
    expect(healthy).toBeGreaterThanOrEqual(20);
    child.kill('SIGKILL');
  });

  it('SIGTERM during a job: it finishes or goes back to the queue within the grace time, and completes after a restart', async () => {
    const { child, base } = await start({ SUPERRES_SHUTDOWN_GRACE_MS: '200' });
    const job = await post(base, '/api/v1/enterprise/super_resolution', { key: KEY, url: `${filesUrl}/ost.png`, scale: 4, model_id: MODEL });
    // Wait until the job is running (its record says so), then stop the server.
    const record = join(dir, 'data', 'jobs', `${String(job.id)}.json`);
    for (let i = 0; i < 6000; i++) {
      const stored = JSON.parse(await readFile(record, 'utf8').catch(() => '{}')) as { record?: { status?: string } };
      if (stored.record?.status === 'processing') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const after = (JSON.parse(await readFile(record, 'utf8')) as { record: { status: string } }).record.status;
    expect(['success', 'queued']).toContain(after);

    const again = await start();
    let answer: Record<string, unknown> = {};
    for (let i = 0; i < 6000; i++) {
      answer = await post(again.base, `/api/v1/enterprise/fetch/${String(job.id)}`, { key: KEY });
      if (answer.status !== 'processing') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answer.status).toBe('success');
    again.child.kill('SIGKILL');
  });
});
