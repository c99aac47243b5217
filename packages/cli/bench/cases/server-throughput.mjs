// Server throughput on loopback: the built CLI's `serve` with one worker configuration, a small
// image served by a local file server, N requests at a fixed concurrency, each waiting for its
// result. Reports requests/s, latency percentiles and how many did not succeed.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, report } from '../lib/measure.mjs';

const [bin, weights, imagePath, workers, threads, concurrency, requests, clients] = process.argv.slice(2);
const KEY = 'bench-key';
const MODEL = 'realesr-animevideov3';
const dir = await mkdtemp(join(tmpdir(), 'superres-bench-server-'));
await mkdir(join(dir, 'models'));
await copyFile(weights, join(dir, 'models', `${MODEL}.pth`));
const image = await readFile(imagePath);
const files = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(image));
await new Promise((resolve) => files.listen(0, '127.0.0.1', resolve));
const imageUrl = `http://127.0.0.1:${files.address().port}/image.png`;

const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
  env: {
    ...process.env,
    SUPERRES_DATA_DIR: join(dir, 'data'),
    SUPERRES_MODELS_DIR: join(dir, 'models'),
    SUPERRES_API_KEYS: KEY,
    SUPERRES_ADMIN_KEYS: 'bench-admin',
    SUPERRES_ALLOW_PRIVATE_URLS: 'true',
    SUPERRES_SYNC_WAIT_MS: '600000',
    SUPERRES_PER_KEY_QUEUE_LIMIT: '1000',
    SUPERRES_WORKERS: workers,
    SUPERRES_THREADS: threads,
    SUPERRES_CONCURRENCY: concurrency,
  },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const base = await new Promise((resolve, reject) => {
  let err = '';
  child.stderr.on('data', (d) => {
    err += d.toString();
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err)?.[1];
    if (url) resolve(url);
  });
  child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
});

async function one() {
  const t0 = performance.now();
  const response = await fetch(`${base}/api/v1/enterprise/super_resolution`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: KEY, url: imageUrl, scale: 4, model_id: MODEL, webhook: null, face_enhance: false }),
  });
  const body = await response.json();
  return { ms: performance.now() - t0, ok: body.status === 'success' };
}

// Warm-up: the model is converted and loaded once, in each worker.
for (let i = 0; i < Number(workers) * 2; i++) await one();
const latencies = [];
let failed = 0;
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: Number(clients) }, async () => {
    while (next < Number(requests)) {
      next++;
      const r = await one();
      latencies.push(r.ms);
      if (!r.ok) failed++;
    }
  }),
);
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
report({
  workers: Number(workers),
  threads: Number(threads),
  concurrency: Number(concurrency),
  requests: latencies.length,
  clients: Number(clients),
  requestsPerSecond: latencies.length / seconds,
  p50Ms: median(latencies),
  p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
  failed,
});
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
files.close();
await rm(dir, { recursive: true, force: true });
