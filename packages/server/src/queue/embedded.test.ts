import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SuperresError } from '@superres/core';
import type { JobRecord } from '../contracts.js';
import { createEmbeddedQueue, RECENT_FINISHED, type EmbeddedQueue } from './embedded.js';
import { PerKeyLimitError } from './common.js';
import { makeJob, sleep, sleepyProcessor } from './test-support/jobs.js';
import { createChildSandbox } from './test-support/transpile.js';

let dataDir: string;
const open: EmbeddedQueue[] = [];

function newQueue(options: Partial<Parameters<typeof createEmbeddedQueue>[0]> = {}): EmbeddedQueue {
  const queue = createEmbeddedQueue({ dataDir, fsync: false, ...options });
  open.push(queue);
  return queue;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'superres-embedded-'));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close({ graceMs: 0 })));
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded queue', () => {
  it('runs jobs first in, first out (createdAt, then enqueue order)', async () => {
    const queue = newQueue();
    const t = Date.now();
    const jobs = [makeJob({ createdAt: t }), makeJob({ createdAt: t }), makeJob({ createdAt: t + 1 }), makeJob({ createdAt: t + 1 })];
    // An older job enqueued late still goes first.
    const older = makeJob({ createdAt: t - 10 });
    for (const job of jobs) await queue.enqueue(job);
    await queue.enqueue(older);
    expect(await queue.position(older.id)).toBe(0);
    expect(await queue.position(jobs[3]!.id)).toBe(4);
    const run = sleepyProcessor(5);
    await queue.startWorker(run.processor, { concurrency: 1 });
    await Promise.all(jobs.map((j) => queue.waitFor(j.id, 5000)));
    expect(run.started).toEqual([older.id, ...jobs.map((j) => j.id)]);
    const done = await queue.get(jobs[0]!.id);
    expect(done).toMatchObject({ status: 'success', output: `http://x/${jobs[0]!.id}`, generationTime: 0.005, attempts: 1 });
    expect(done!.startedAt).toBeGreaterThan(0);
    expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.startedAt!);
  });

  it('never runs more than `concurrency` jobs at once', async () => {
    const queue = newQueue();
    const run = sleepyProcessor(30);
    await queue.startWorker(run.processor, { concurrency: 3 });
    const jobs = Array.from({ length: 10 }, () => makeJob());
    await Promise.all(jobs.map((j) => queue.enqueue(j)));
    const finished = await Promise.all(jobs.map((j) => queue.waitFor(j.id, 10_000)));
    expect(finished.every((r) => r?.status === 'success')).toBe(true);
    expect(run.maxActive).toBe(3);
    expect(run.started).toHaveLength(10);
  });

  it('records processor errors with their code, E_INTERNAL otherwise, and tells listeners', async () => {
    const queue = newQueue();
    const seen: JobRecord[] = [];
    queue.onFinished((job) => seen.push(job));
    queue.onFinished(() => {
      throw new Error('a broken listener does not break the queue');
    });
    await queue.startWorker(
      async (job) => {
        if (job.input.url.endsWith('coded')) throw new SuperresError('E_BAD_IMAGE', 'not an image');
        if (job.input.url.endsWith('plain')) throw new Error('boom');
        return { output: 'http://x/ok', generationTime: 0.1 };
      },
      { concurrency: 2 },
    );
    const coded = makeJob({ input: { url: 'http://h/coded', modelId: 'm', faceEnhance: false } });
    const plain = makeJob({ input: { url: 'http://h/plain', modelId: 'm', faceEnhance: false } });
    const ok = makeJob();
    for (const job of [coded, plain, ok]) await queue.enqueue(job);
    expect(await queue.waitFor(coded.id, 5000)).toMatchObject({ status: 'error', error: 'not an image', errorCode: 'E_BAD_IMAGE' });
    expect(await queue.waitFor(plain.id, 5000)).toMatchObject({ status: 'error', error: 'boom', errorCode: 'E_INTERNAL' });
    expect(await queue.waitFor(ok.id, 5000)).toMatchObject({ status: 'success', output: 'http://x/ok' });
    expect(seen.map((j) => j.id).sort()).toEqual([coded.id, plain.id, ok.id].sort());
    // What the listener got is a copy.
    seen[0]!.status = 'queued';
    expect((await queue.get(seen[0]!.id))!.status).not.toBe('queued');
  });

  it('waitFor returns the current record at the timeout, undefined for an unknown id', async () => {
    const queue = newQueue();
    const job = makeJob();
    await queue.enqueue(job);
    const t0 = Date.now();
    expect(await queue.waitFor(job.id, 100)).toMatchObject({ id: job.id, status: 'queued', attempts: 0 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    await queue.startWorker(sleepyProcessor(400).processor, { concurrency: 1 });
    expect(await queue.waitFor(job.id, 100)).toMatchObject({ status: 'processing', attempts: 1 });
    expect(await queue.waitFor(job.id, 5000)).toMatchObject({ status: 'success' });
    expect(await queue.waitFor('nope', 50)).toBeUndefined();
    expect(await queue.get('../../etc/passwd')).toBeUndefined();
  });

  it('counts pending jobs per key and rejects bad or duplicate ids', async () => {
    const queue = newQueue();
    const a1 = makeJob({ keyId: 'a' });
    const a2 = makeJob({ keyId: 'a' });
    const b1 = makeJob({ keyId: 'b' });
    for (const job of [a1, a2, b1]) await queue.enqueue(job);
    expect(await queue.countPending('a')).toBe(2);
    expect(await queue.countPending('b')).toBe(1);
    expect(await queue.countPending('c')).toBe(0);
    await expect(queue.enqueue(a1)).rejects.toThrow(/already exists/);
    await expect(queue.enqueue(makeJob({ id: '../evil' }))).rejects.toThrow(/job id/);
    await queue.startWorker(sleepyProcessor(50).processor, { concurrency: 1 });
    await queue.waitFor(a1.id, 5000);
    expect(await queue.countPending('a')).toBe(1); // a2 queued or processing
    await Promise.all([queue.waitFor(a2.id, 5000), queue.waitFor(b1.id, 5000)]);
    expect(await queue.countPending('a')).toBe(0);
    expect(await queue.countPending('b')).toBe(0);
  });

  it('close({ graceMs }) lets running jobs finish within the grace period', async () => {
    const queue = newQueue();
    const run = sleepyProcessor(100);
    await queue.startWorker(run.processor, { concurrency: 1 });
    const job = makeJob();
    await queue.enqueue(job);
    await sleep(20);
    await queue.close({ graceMs: 5000 });
    expect((await queue.get(job.id))!.status).toBe('success');
  });

  it('close at the end of the grace period aborts running jobs; they are queued again on disk and run after a restart', async () => {
    const first = newQueue();
    const slow = sleepyProcessor(60_000);
    await first.startWorker(slow.processor, { concurrency: 2 });
    const jobs = Array.from({ length: 5 }, (_, i) => makeJob({ createdAt: 1000 + i }));
    for (const job of jobs) await first.enqueue(job);
    await sleep(50);
    expect(slow.started).toHaveLength(2);
    await first.close({ graceMs: 50 });
    expect(slow.completed).toHaveLength(0);
    for (const job of jobs) expect((await first.get(job.id))!.status).toBe('queued');

    const second = newQueue();
    const fast = sleepyProcessor(5);
    await second.startWorker(fast.processor, { concurrency: 2 });
    const done = await Promise.all(jobs.map((j) => second.waitFor(j.id, 5000)));
    expect(done.map((r) => r!.status)).toEqual(Array(5).fill('success'));
    expect([...fast.completed].sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(done.map((r) => r!.attempts)).toEqual([2, 2, 1, 1, 1]);
  });

  it('abandons a processor that ignores its signal at close, still re-queueing the job', async () => {
    const queue = createEmbeddedQueue({ dataDir, fsync: false, abortSettleMs: 50 });
    await queue.startWorker(() => new Promise(() => undefined), { concurrency: 1 });
    const job = makeJob();
    await queue.enqueue(job);
    await sleep(20);
    await queue.close({ graceMs: 10 });
    const again = newQueue();
    expect((await again.get(job.id))!.status).toBe('queued');
  });

  it('survives a process killed mid-job (SIGKILL): every job completes exactly once after the restart', async () => {
    const sandbox = await createChildSandbox();
    const log = join(dataDir, 'child-started.log');
    const jobs = Array.from({ length: 5 }, (_, i) => makeJob({ createdAt: 2000 + i }));
    try {
      const script = await sandbox.writeScript(
        'embedded-child.mjs',
        `
import { appendFileSync } from 'node:fs';
import { createEmbeddedQueue } from './queue/embedded.js';
const [dataDir, log, jobsJson] = process.argv.slice(2);
const queue = createEmbeddedQueue({ dataDir });
for (const job of JSON.parse(jobsJson)) await queue.enqueue(job);
await queue.startWorker(async (job) => {
  appendFileSync(log, job.id + '\\n');
  await new Promise(() => undefined); // never finishes: the parent kills us
}, { concurrency: 2 });
setInterval(() => undefined, 1000); // stay alive until killed
process.stdout.write('ready\\n');
`,
      );
      const child = spawn(process.execPath, [script, dataDir, log, JSON.stringify(jobs)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      // Wait until both running jobs are marked processing on disk, then kill.
      for (let i = 0; i < 100; i++) {
        const logged = await readFile(log, 'utf8').catch(() => '');
        if (logged.trim().split('\n').length >= 2) break;
        await sleep(20);
      }
      process.kill(child.pid!, 'SIGKILL');
      await exited;
      const onDisk = await Promise.all(
        jobs.map(async (j) => (JSON.parse(await readFile(join(dataDir, 'jobs', `${j.id}.json`), 'utf8')) as { record: JobRecord }).record.status),
      );
      expect(onDisk).toEqual(['processing', 'processing', 'queued', 'queued', 'queued']);

      const queue = newQueue();
      const run = sleepyProcessor(10);
      const finished: string[] = [];
      queue.onFinished((job) => finished.push(job.id));
      await queue.startWorker(run.processor, { concurrency: 2 });
      const done = await Promise.all(jobs.map((j) => queue.waitFor(j.id, 5000)));
      expect(done.map((r) => r!.status)).toEqual(Array(5).fill('success'));
      expect(done.map((r) => r!.attempts)).toEqual([2, 2, 1, 1, 1]);
      // Exactly one completed invocation and one finished notification per job.
      expect([...run.completed].sort()).toEqual(jobs.map((j) => j.id).sort());
      expect([...finished].sort()).toEqual(jobs.map((j) => j.id).sort());
      expect((await readdir(join(dataDir, 'jobs'))).filter((n) => n.endsWith('.part'))).toEqual([]);
    } finally {
      await sandbox.remove();
    }
  });

  it('fails a job instead of crash-looping once it was interrupted maxAttempts times', async () => {
    const job = makeJob({ status: 'processing', attempts: 3, startedAt: Date.now() });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dataDir, 'jobs'), { recursive: true });
    await writeFile(join(dataDir, 'jobs', `${job.id}.json`), JSON.stringify({ seq: 1, record: job }));
    await writeFile(join(dataDir, 'jobs', `.${job.id}.json.123-abcdef.part`), '{"half":');
    const queue = newQueue();
    expect(await queue.get(job.id)).toMatchObject({ status: 'error', errorCode: 'E_INTERNAL' });
    expect(await queue.countPending(job.keyId)).toBe(0);
    expect(await readdir(join(dataDir, 'jobs'))).toEqual([`${job.id}.json`]);
  });

  it('prunes finished records older than a given age', async () => {
    const queue = newQueue();
    await queue.startWorker(sleepyProcessor(1).processor, { concurrency: 1 });
    const job = makeJob();
    await queue.enqueue(job);
    await queue.waitFor(job.id, 5000);
    const waiting = makeJob();
    expect(await queue.pruneOlderThan(60_000)).toBe(0);
    await sleep(20);
    await queue.close({ graceMs: 1000 });
    const again = newQueue();
    await again.enqueue(waiting);
    expect(await again.pruneOlderThan(10)).toBe(1);
    expect(await again.get(job.id)).toBeUndefined();
    expect(await again.get(waiting.id)).toMatchObject({ status: 'queued' });
  });

  it('holds a bounded number of finished records in memory; older ones are read from disk', async () => {
    const queue = newQueue();
    await queue.startWorker(sleepyProcessor(0).processor, { concurrency: 4 });
    const jobs = Array.from({ length: RECENT_FINISHED + 200 }, () => makeJob());
    for (const job of jobs) await queue.enqueue(job);
    await Promise.all(jobs.map((j) => queue.waitFor(j.id, 60_000)));
    expect(queue.heldRecords()).toBe(RECENT_FINISHED);
    expect(await queue.get(jobs[0]!.id)).toMatchObject({ status: 'success', output: `http://x/${jobs[0]!.id}` });
    expect(await queue.waitFor(jobs[1]!.id, 1000)).toMatchObject({ status: 'success' });
    await queue.close({ graceMs: 0 });
    // At start, finished records stay on disk: only the work left is loaded.
    const again = newQueue();
    const waiting = makeJob();
    await again.enqueue(waiting);
    expect(again.heldRecords()).toBe(1);
    expect(await again.get(jobs[5]!.id)).toMatchObject({ status: 'success' });
    expect(await again.get('no-such-job')).toBeUndefined();
    expect(await again.get('../escape')).toBeUndefined();
  });

  it('deletes finished records past the retention time on its own', async () => {
    const queue = newQueue({ retentionMs: 50, pruneIntervalMs: 20 });
    await queue.startWorker(sleepyProcessor(0).processor, { concurrency: 1 });
    const job = makeJob();
    await queue.enqueue(job);
    expect(await queue.waitFor(job.id, 5000)).toMatchObject({ status: 'success' });
    for (let i = 0; i < 500 && (await queue.get(job.id)) !== undefined; i++) await sleep(20);
    expect(await queue.get(job.id)).toBeUndefined();
    expect(await readdir(join(dataDir, 'jobs'))).toEqual([]);
  });

  it('reports a job finished only once its outcome is on disk, so a restart cannot change it', async () => {
    const errors: unknown[] = [];
    const queue = newQueue({ onError: (err) => errors.push(err) });
    const job = makeJob();
    const file = join(dataDir, 'jobs', `${job.id}.json`);
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    await queue.startWorker(async () => {
      // The record's place is taken by a directory: writing the outcome fails until it goes.
      await rm(file);
      await mkdir(join(file, 'blocker'), { recursive: true });
      setTimeout(release, 10);
      throw new SuperresError('E_BAD_IMAGE', 'not an image');
    }, { concurrency: 1 });
    await queue.enqueue(job);
    await released;
    for (let i = 0; i < 500 && errors.length === 0; i++) await sleep(10);
    expect(errors.length).toBeGreaterThan(0);
    expect(await queue.get(job.id)).toMatchObject({ status: 'processing' });
    await rm(file, { recursive: true });
    expect(await queue.waitFor(job.id, 30_000)).toMatchObject({ status: 'error', errorCode: 'E_BAD_IMAGE' });
    expect(JSON.parse(await readFile(file, 'utf8')).record).toMatchObject({ status: 'error', errorCode: 'E_BAD_IMAGE' });
  });

  it('enforces the per-key limit atomically when enqueues arrive at once', async () => {
    const queue = newQueue();
    const jobs = Array.from({ length: 30 }, () => makeJob({ keyId: 'burst' }));
    const outcomes = await Promise.allSettled(jobs.map((job) => queue.enqueue(job, { perKeyLimit: 4 })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
    expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof PerKeyLimitError)).toHaveLength(26);
    expect(await queue.countPending('burst')).toBe(4);
    expect(await queue.countPending('other')).toBe(0);
  });
});
