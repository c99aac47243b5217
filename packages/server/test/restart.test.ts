// Kill -9 the server (the built CLI) with jobs queued, start it again: every job completes, once.
import type { ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { cliBin as bin, spawnServe } from './support/serve-child.js';

const weights = needsFixture('restart', 'weights', 'realesr-animevideov3.pth');
const built = existsSync(bin);
const title = built ? weights.title : `${weights.title} (skipped: ${bin} not built; run pnpm build)`;
const KEY = 'restart-key';
const MODEL = 'realesr-animevideov3';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(weights.missing || !built)(title, () => {
  let dir: string;
  let child: ChildProcess | undefined;
  const started: ChildProcess[] = [];
  const hooks: Array<{ id: string; status: string }> = [];
  const files = createServer((req, res) => {
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (hooksDown) {
          hookRefusals++;
          res.statusCode = 503;
          return res.end();
        }
        hooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; status: string });
        res.end();
      });
      return;
    }
    // `/gate.png` answers once the test opens the gate: a job fetching it is running and cannot
    // finish before the test lets it (no assumption on how fast anything runs).
    if (req.url === '/gate.png') gateRequests++;
    const ready = req.url === '/gate.png' ? gate.promise : Promise.resolve();
    void Promise.all([readFile(fixture('images', 'set5', 'LRx4', 'baby.png')), ready]).then(([b]) =>
      res.writeHead(200, { 'content-type': 'image/png' }).end(b),
    );
  });
  const newGate = () => {
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  };
  let gate = newGate();
  /** The webhook receiver answers 503 while down. */
  let hooksDown = false;
  let hookRefusals = 0;
  let gateRequests = 0;
  async function waitFor(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; i < 1200 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!done()) throw new Error(`timed out waiting for ${what}`);
  }
  let filesUrl: string;
  let port: number;

  async function start(): Promise<void> {
    const server = await spawnServe({
      SUPERRES_PORT: String(port),
      SUPERRES_DATA_DIR: join(dir, 'data'),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: KEY,
      SUPERRES_ADMIN_KEYS: 'restart-admin',
      SUPERRES_ALLOW_PRIVATE_URLS: 'true',
      SUPERRES_SYNC_WAIT_MS: '0',
      SUPERRES_TILE: '32',
    });
    child = server.child;
    started.push(child);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-restart-'));
    await mkdir(join(dir, 'models'));
    await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(dir, 'models', `${MODEL}.pth`));
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    port = await freePort();
  });

  afterAll(async () => {
    gate.resolve();
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    files.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the queued jobs after a kill -9, each once', async () => {
    await start();
    const base = `http://127.0.0.1:${port}`;
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await post('/api/v1/enterprise/super_resolution', { key: KEY, url: `${filesUrl}/gate.png`, scale: 4, model_id: MODEL, webhook: `${filesUrl}/hook` });
      expect(answer.status).toBe('processing');
      ids.push(String(answer.id));
    }
    child!.removeAllListeners('exit');
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    // Two jobs (SUPERRES_CONCURRENCY) are fetching their image, held at the gate: none can finish.
    await waitFor('the running jobs to fetch their image', () => gateRequests >= 2);
    child!.kill('SIGKILL');
    await exited;
    expect(hooks).toHaveLength(0);

    gate.resolve();
    await start();
    for (const id of ids) {
      let answer: Record<string, unknown> = {};
      for (let i = 0; i < 600; i++) {
        answer = await post(`/api/v1/enterprise/fetch/${id}`, { key: KEY });
        if (answer.status !== 'processing') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect({ id, status: answer.status }).toEqual({ id, status: 'success' });
    }
    for (let i = 0; i < 100 && hooks.length < ids.length; i++) await new Promise((r) => setTimeout(r, 50));
    const successes = hooks.filter((h) => h.status === 'success').map((h) => h.id).sort();
    expect(successes).toEqual([...ids].sort());
    child!.removeAllListeners('exit');
    const stopped = new Promise((resolve) => child!.once('exit', resolve));
    child!.kill('SIGKILL');
    await stopped;
  });

  it('lets a running job finish on SIGTERM, then exits', async () => {
    await start();
    const base = `http://127.0.0.1:${port}`;
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
    gate = newGate();
    gateRequests = 0;
    const submitted = await post('/api/v1/enterprise/super_resolution', { key: KEY, url: `${filesUrl}/gate.png`, scale: 2, model_id: MODEL });
    expect(submitted.status).toBe('processing');
    // The job is running (it is fetching its image) when SIGTERM comes; then the image arrives.
    await waitFor('the job to fetch its image', () => gateRequests >= 1);
    child!.removeAllListeners('exit');
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child!.kill('SIGTERM');
    gate.resolve();
    expect(await exited).toBe(0);
    await start();
    const answer = await post(`/api/v1/enterprise/fetch/${String(submitted.id)}`, { key: KEY });
    expect(answer.status).toBe('success');
  });

  it('resumes a webhook delivery left pending by the previous process', async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.removeAllListeners('exit');
      const stopped = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await stopped;
    }
    hooksDown = true;
    hookRefusals = 0;
    await start();
    const base = `http://127.0.0.1:${port}`;
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
    const submitted = await post('/api/v1/enterprise/super_resolution', { key: KEY, url: `${filesUrl}/baby.png`, scale: 2, model_id: MODEL, webhook: `${filesUrl}/hook-resume` });
    await waitFor('the first webhook attempt to be refused', () => hookRefusals >= 1);
    child!.removeAllListeners('exit');
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(hooks.some((h) => h.id === submitted.id)).toBe(false);

    hooksDown = false;
    await start();
    await waitFor('the resumed webhook', () => hooks.some((h) => h.id === submitted.id));
    expect(hooks.filter((h) => h.id === submitted.id)).toEqual([expect.objectContaining({ status: 'success' })]);
  });
});
