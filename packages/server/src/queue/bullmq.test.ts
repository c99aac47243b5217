import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SuperresError } from '@superres/core';
import type { JobRecord } from '../contracts.js';
import { startRedis, type RunningRedis } from '../../test/support/redis.js';
import { createBullmqQueue, readJobRecord, type AnyJob, type BullmqQueue, type BullmqQueueOptions } from './bullmq.js';
import { PerKeyLimitError } from './common.js';
import { runWorker } from './worker-main.js';
import { makeJob, sleep, sleepyProcessor } from './test-support/jobs.js';
import { createChildSandbox } from './test-support/transpile.js';

let redis: RunningRedis;
const open: BullmqQueue[] = [];
let queueCounter = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close({ graceMs: 0 })));
});

/** A fresh queue name per test: tests do not see each other's jobs. */
function freshName(): string {
  return `t${process.pid}-${++queueCounter}`;
}

function newQueue(options: Partial<BullmqQueueOptions> = {}): BullmqQueue {
  const queue = createBullmqQueue({ redisUrl: redis.url, lockDuration: 2000, stalledInterval: 500, pollIntervalMs: 200, ...options });
  open.push(queue);
  return queue;
}

describe('BullMQ queue', () => {
  it('runs jobs FIFO and answers full records from another process-like instance', async () => {
    const queueName = freshName();
    const api = newQueue({ queueName });
    const jobs = Array.from({ length: 4 }, () => makeJob());
    for (const job of jobs) await api.enqueue(job);
    expect(await api.get(jobs[0]!.id)).toMatchObject({ id: jobs[0]!.id, status: 'queued', attempts: 0, keyId: 'key-a' });
    expect(await api.position(jobs[0]!.id)).toBe(0);
    expect(await api.position(jobs[3]!.id)).toBe(3);
    expect(await api.countPending('key-a')).toBe(4);
    await expect(api.enqueue(jobs[0]!)).rejects.toThrow(/already exists/);

    const workerSide = newQueue({ queueName });
    const run = sleepyProcessor(20);
    await workerSide.startWorker(run.processor, { concurrency: 1 });
    const done = await Promise.all(jobs.map((j) => api.waitFor(j.id, 10_000)));
    expect(run.started).toEqual(jobs.map((j) => j.id));
    for (const [i, record] of done.entries()) {
      expect(record).toMatchObject({ status: 'success', output: `http://x/${jobs[i]!.id}`, generationTime: 0.02, attempts: 1 });
      expect(record!.finishedAt).toBeGreaterThanOrEqual(record!.startedAt!);
      expect(record!.input).toEqual(jobs[i]!.input);
    }
    expect(await api.countPending('key-a')).toBe(0);
    expect(await api.get('missing')).toBeUndefined();
    expect(await api.get('../x')).toBeUndefined();
  });

  it('bounds concurrency, records errors with codes, notifies onFinished once', async () => {
    const queueName = freshName();
    const api = newQueue({ queueName });
    const seen: JobRecord[] = [];
    api.onFinished((job) => seen.push(job));
    const other = newQueue({ queueName }); // a second API process: must not deliver the same jobs again
    const seenElsewhere: JobRecord[] = [];
    other.onFinished((job) => seenElsewhere.push(job));
    let active = 0;
    let maxActive = 0;
    await api.startWorker(
      async (job) => {
        active++;
        maxActive = Math.max(maxActive, active);
        try {
          await sleep(40);
          if (job.input.url.endsWith('coded')) throw new SuperresError('E_BAD_IMAGE', 'not an image');
          if (job.input.url.endsWith('plain')) throw new Error('boom');
          return { output: 'http://x/ok', generationTime: 0.04 };
        } finally {
          active--;
        }
      },
      { concurrency: 2 },
    );
    await sleep(300); // let both QueueEvents subscriptions start
    const coded = makeJob({ keyId: 'k2', input: { url: 'http://h/coded', modelId: 'm', faceEnhance: false } });
    const plain = makeJob({ keyId: 'k2', input: { url: 'http://h/plain', modelId: 'm', faceEnhance: false } });
    const oks = Array.from({ length: 4 }, () => makeJob({ keyId: 'k2' }));
    for (const job of [coded, plain, ...oks]) await api.enqueue(job);
    expect(await api.waitFor(coded.id, 10_000)).toMatchObject({ status: 'error', error: 'not an image', errorCode: 'E_BAD_IMAGE', attempts: 1 });
    expect(await api.waitFor(plain.id, 10_000)).toMatchObject({ status: 'error', error: 'boom', errorCode: 'E_INTERNAL' });
    for (const ok of oks) expect(await api.waitFor(ok.id, 10_000)).toMatchObject({ status: 'success' });
    expect(maxActive).toBe(2);
    expect(await api.countPending('k2')).toBe(0);
    await sleep(300);
    const delivered = [...seen, ...seenElsewhere].map((j) => j.id).sort();
    expect(delivered).toEqual([coded.id, plain.id, ...oks.map((j) => j.id)].sort());
    expect(seen.find((j) => j.id === coded.id) ?? seenElsewhere.find((j) => j.id === coded.id)).toMatchObject({ errorCode: 'E_BAD_IMAGE' });
  });

  it('enforces the per-key limit atomically across instances enqueueing at once', async () => {
    const queueName = freshName();
    // Two API processes taking requests of one key at the same moment.
    const apis = [newQueue({ queueName }), newQueue({ queueName })];
    const jobs = Array.from({ length: 24 }, () => makeJob({ keyId: 'burst' }));
    const outcomes = await Promise.allSettled(jobs.map((job, i) => apis[i % 2]!.enqueue(job, { perKeyLimit: 5 })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(refused).toHaveLength(19);
    expect(refused.every((o) => o.reason instanceof PerKeyLimitError)).toBe(true);
    expect(await apis[0]!.countPending('burst')).toBe(5);
    // Finished jobs free their places.
    const worker = newQueue({ queueName });
    await worker.startWorker(sleepyProcessor(0).processor, { concurrency: 2 });
    const accepted = jobs.filter((_, i) => outcomes[i]!.status === 'fulfilled');
    await Promise.all(accepted.map((j) => apis[0]!.waitFor(j.id, 10_000)));
    await expect(apis[1]!.enqueue(makeJob({ keyId: 'burst' }), { perKeyLimit: 5 })).resolves.toBeUndefined();
  });

  it('never reports a job as success without its output when it completes between two reads', async () => {
    // Whichever read comes first sees the job running; the second sees it completed.
    const job = makeJob();
    const running = { data: job, returnvalue: undefined, finishedOn: undefined } as unknown as AnyJob;
    const completed = { data: job, returnvalue: { output: 'http://x/out.png', generationTime: 1 }, finishedOn: 5 } as unknown as AnyJob;
    let reads = 0;
    const record = await readJobRecord(job.id, {
      state: async () => (reads++ === 0 ? 'active' : 'completed'),
      job: async () => (reads++ === 0 ? running : completed),
    });
    expect(record).toMatchObject({ status: 'processing' });
    // Once completed for both reads: success with its output.
    const done = await readJobRecord(job.id, { state: async () => 'completed', job: async () => completed });
    expect(done).toMatchObject({ status: 'success', output: 'http://x/out.png' });
  });

  it('waitFor returns the current record at the timeout', async () => {
    const api = newQueue({ queueName: freshName() });
    const job = makeJob();
    await api.enqueue(job);
    const t0 = Date.now();
    expect(await api.waitFor(job.id, 150)).toMatchObject({ status: 'queued' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await api.startWorker(sleepyProcessor(600).processor, { concurrency: 1 });
    await sleep(150);
    expect(await api.waitFor(job.id, 100)).toMatchObject({ status: 'processing', attempts: 1 });
    expect(await api.waitFor(job.id, 10_000)).toMatchObject({ status: 'success' });
    expect(await api.waitFor('unknown-id', 100)).toBeUndefined();
  });

  it('close at the end of the grace period puts running jobs back in the queue (not failed)', async () => {
    const queueName = freshName();
    const worker = createBullmqQueue({ redisUrl: redis.url, queueName, lockDuration: 2000, stalledInterval: 500 });
    const slow = sleepyProcessor(60_000);
    await worker.startWorker(slow.processor, { concurrency: 1 });
    const job = makeJob();
    const api = newQueue({ queueName });
    await api.enqueue(job);
    for (let i = 0; i < 100 && slow.started.length === 0; i++) await sleep(20);
    await worker.close({ graceMs: 50 });
    expect(await api.get(job.id)).toMatchObject({ status: 'queued', attempts: 1 });
    expect(await api.countPending('key-a')).toBe(1);
    // runWorker: a new worker picks it up, and stops when its signal aborts.
    const controller = new AbortController();
    const fast = sleepyProcessor(5);
    const running = runWorker({ queue: newQueue({ queueName }), processor: fast.processor, concurrency: 1, signal: controller.signal });
    expect(await api.waitFor(job.id, 10_000)).toMatchObject({ status: 'success', attempts: 2 });
    controller.abort();
    await running;
  });

  it('two worker processes: SIGKILL one mid-job, the job is completed once by the other', async () => {
    const queueName = freshName();
    const sandbox = await createChildSandbox();
    const dir = await mkdtemp(join(tmpdir(), 'superres-bullmq-'));
    const children: ChildProcess[] = [];
    try {
      const script = await sandbox.writeScript(
        'bullmq-worker.mjs',
        `
import { appendFileSync } from 'node:fs';
import { createBullmqQueue } from './queue/bullmq.js';
import { runWorker } from './queue/worker-main.js';
const [redisUrl, queueName, dir, name] = process.argv.slice(2);
const queue = createBullmqQueue({ redisUrl, queueName, lockDuration: 2000, stalledInterval: 500, maxStalledCount: 1 });
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());
const processor = async (job, signal) => {
  appendFileSync(dir + '/started.log', job.id + ' ' + name + '\\n');
  await new Promise((resolve, reject) => {
    const t = setTimeout(resolve, 800);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
  appendFileSync(dir + '/completed.log', job.id + ' ' + name + '\\n');
  return { output: 'http://x/' + job.id, generationTime: 0.8 };
};
const done = runWorker({ queue, processor, concurrency: 1, signal: controller.signal, graceMs: 5000 });
setTimeout(() => process.stdout.write('ready\\n'), 200);
await done;
process.stdout.write('stopped\\n');
`,
      );
      const startChild = async (name: string) => {
        const child = spawn(process.execPath, [script, redis.url, queueName, dir, name], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        await new Promise<void>((resolve, reject) => {
          child.stdout!.on('data', () => out.includes('ready') && resolve());
          child.once('exit', (code) => reject(new Error(`worker ${name} exited early (${code})`)));
        });
        return { child, output: () => out };
      };
      const a = await startChild('A');
      const b = await startChild('B');

      const api = newQueue({ queueName });
      const jobs = Array.from({ length: 4 }, () => makeJob({ keyId: 'k-kill' }));
      for (const job of jobs) await api.enqueue(job);

      // Wait until worker A is in the middle of a job, then kill it.
      let victim: string | undefined;
      for (let i = 0; i < 200 && !victim; i++) {
        const started = await readFile(join(dir, 'started.log'), 'utf8').catch(() => '');
        victim = started.split('\n').find((l) => l.endsWith(' A'))?.split(' ')[0];
        if (!victim) await sleep(10);
      }
      expect(victim).toBeDefined();
      await sleep(100);
      const aExited = new Promise<void>((resolve) => a.child.once('exit', () => resolve()));
      process.kill(a.child.pid!, 'SIGKILL');
      await aExited;

      const done = await Promise.all(jobs.map((j) => api.waitFor(j.id, 30_000)));
      expect(done.map((r) => r?.status)).toEqual(Array(4).fill('success'));
      expect(done.find((r) => r!.id === victim)).toMatchObject({ attempts: 2, output: `http://x/${victim}` });

      const completed = (await readFile(join(dir, 'completed.log'), 'utf8')).trim().split('\n');
      const ids = completed.map((l) => l.split(' ')[0]!).sort();
      expect(ids).toEqual(jobs.map((j) => j.id).sort()); // each job completed exactly once
      expect(completed.find((l) => l.startsWith(`${victim} `))).toBe(`${victim} B`);
      const started = (await readFile(join(dir, 'started.log'), 'utf8')).trim().split('\n');
      expect(started.filter((l) => l.startsWith(`${victim} `))).toEqual([`${victim} A`, `${victim} B`]);
      expect(await api.countPending('k-kill')).toBe(0);

      // Worker B stops gracefully on SIGTERM (runWorker resolves after closing).
      const bExited = new Promise<number | null>((resolve) => b.child.once('exit', (code) => resolve(code)));
      process.kill(b.child.pid!, 'SIGTERM');
      expect(await bExited).toBe(0);
      expect(b.output()).toContain('stopped');
    } finally {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      }
      await sandbox.remove();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('survives Redis stopping and coming back mid-queue: every job completes, none lost', async () => {
    const durable = await startRedis({ persist: true });
    const queues: BullmqQueue[] = [];
    try {
      const queueName = freshName();
      const make = () => {
        const q = createBullmqQueue({ redisUrl: durable.url, queueName, lockDuration: 2000, stalledInterval: 500, pollIntervalMs: 200, onError: () => undefined });
        queues.push(q);
        return q;
      };
      const api = make();
      const worker = make();
      const run = sleepyProcessor(100);
      await worker.startWorker(run.processor, { concurrency: 2 });
      const jobs = Array.from({ length: 12 }, () => makeJob());
      for (const job of jobs) await api.enqueue(job);
      for (let i = 0; i < 1000 && run.completed.length < 2; i++) await sleep(10);

      await durable.halt(); // mid-queue: jobs running, jobs waiting
      await sleep(1000);
      await durable.revive();

      const finished = await Promise.all(
        jobs.map(async (job) => {
          for (let i = 0; i < 600; i++) {
            const record = await api.get(job.id).catch(() => undefined);
            if (record && (record.status === 'success' || record.status === 'error')) return record;
            await sleep(100);
          }
          return api.get(job.id);
        }),
      );
      expect(finished.map((r) => r?.status)).toEqual(jobs.map(() => 'success'));
      expect(finished.map((r) => r?.output)).toEqual(jobs.map((j) => `http://x/${j.id}`));
      // Every job ran; one interrupted by the outage may have run twice, none was lost.
      expect(new Set(run.completed)).toEqual(new Set(jobs.map((j) => j.id)));
    } finally {
      await Promise.all(queues.map((q) => q.close({ graceMs: 0 }).catch(() => undefined)));
      await durable.stop();
    }
  });
});
