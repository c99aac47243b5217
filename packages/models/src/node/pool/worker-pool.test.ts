import { AbortedError, BackendError, BadCheckpointError } from '@superres/core';
import { afterEach, describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../../onnx/onnx-graph.js';
import { resolvePoolSize } from './pool-size.js';
import { createWorkerPool, type WorkerPool } from './worker-pool.js';

const fakeWorker = new URL('./test-support/fake-worker.mjs', import.meta.url);
const tensor = (...values: number[]) => ({ data: new Float32Array(values), dims: [1, 1, 1, values.length] });

/** y = x * 2 as a real ONNX graph, for the real worker. */
function doubler(): Uint8Array {
  return new OnnxGraphBuilder('double')
    .input('x', 'float32', ['N', 'C', 'H', 'W'])
    .initializer('two', [], new Float32Array([2]))
    .node('Mul', ['x', 'two'], ['y'])
    .output('y', 'float32', ['N', 'C', 'H', 'W'])
    .toBytes();
}

const pools: WorkerPool[] = [];
function pool(options: Parameters<typeof createWorkerPool>[0] = {}): WorkerPool {
  const p = createWorkerPool({ workers: 1, threads: 1, ...options });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('createWorkerPool with the real inference worker', () => {
  it('runs ONNX Runtime off the calling thread and reports its parallelism', async () => {
    const p = pool({ workers: 2 });
    const session = await p.openSession(doubler());
    expect(session.parallelism).toBe(2);
    const outs = await Promise.all([1, 2, 3, 4].map((v) => session.run(tensor(v, v + 1))));
    expect(outs.map((o) => [...o.data])).toEqual([[2, 4], [4, 6], [6, 8], [8, 10]]);
    expect(p.stats()).toMatchObject({ workers: 2, runs: 4 });
    expect(p.stats().runMs).toBeGreaterThan(0);
    await session.release();
  });

  it('opens sessions whose threads do not spin, with the same results', async () => {
    const p = pool({ threads: 2, spinning: false });
    const quiet = await p.openSession(doubler());
    const spinning = await p.openSession(doubler(), { spinning: true });
    expect([...(await quiet.run(tensor(1, 5))).data]).toEqual([2, 10]);
    expect([...(await spinning.run(tensor(1, 5))).data]).toEqual([2, 10]);
  });

  it('warm() starts a worker with ONNX Runtime loaded before any model is opened', async () => {
    const p = pool();
    expect(p.stats().workers).toBe(0);
    await p.warm();
    expect(p.stats()).toMatchObject({ workers: 1, busy: 0 });
    const session = await p.openSession(doubler());
    expect([...(await session.run(tensor(4))).data]).toEqual([8]);
    expect(p.stats().workers).toBe(1);
  });

  it('moves a handed-over input buffer without copying, and copies one that is not', async () => {
    const session = await pool().openSession(doubler());
    const kept = tensor(1, 2, 3);
    await session.run(kept);
    expect(kept.data.length).toBe(3); // still the caller's
    const given = tensor(1, 2, 3);
    expect([...(await session.run(given, { transfer: true })).data]).toEqual([2, 4, 6]);
    expect(given.data.length).toBe(0); // transferred: detached here
    const view = new Float32Array([9, 1, 2, 9]).subarray(1, 3);
    expect([...(await session.run({ data: view, dims: [1, 1, 1, 2] }, { transfer: true })).data]).toEqual([2, 4]);
    expect(view.length).toBe(2); // a view into a larger buffer is copied, never detached
  });

  it('converts checkpoints in a worker and brings typed errors back', async () => {
    const error = await pool().convert({ kind: 'checkpoint', bytes: new Uint8Array([1, 2, 3, 4]) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect((error as BadCheckpointError).details).toEqual({ format: 'unknown' });
  });

  it('fails a graph ONNX Runtime refuses when it is opened, not at its first run', async () => {
    const error = await pool().openSession(new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
  });
});

describe('createWorkerPool: scheduling, cancellation and failures (a stand-in worker)', () => {
  it('answers a cancelled run at once and lets the worker finish it, then runs the next', async () => {
    const p = pool({ workerUrl: fakeWorker });
    const session = await p.openSession(new Uint8Array(1));
    const controller = new AbortController();
    const slow = session.run(tensor(-400, 1), { signal: controller.signal }); // blocks its worker 400 ms
    const queued = session.run(tensor(5), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(slow).rejects.toBeInstanceOf(AbortedError);
    // Answered while the worker is still inside the run it cannot leave.
    expect(p.stats()).toMatchObject({ busy: 1, queued: 0 });
    await expect(queued).rejects.toBeInstanceOf(AbortedError);
    expect([...(await session.run(tensor(7))).data]).toEqual([14]);
  });

  it('refuses to start a run whose signal already fired', async () => {
    const session = await pool({ workerUrl: fakeWorker }).openSession(new Uint8Array(1));
    await expect(session.run(tensor(1), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });

  it('turns a worker that dies mid-run into a BackendError and starts a new one', async () => {
    const p = pool({ workerUrl: fakeWorker });
    const session = await p.openSession(new Uint8Array(1));
    const error = await session.run(tensor(666)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/stopped unexpectedly \(exit code 3\)/);
    // The session is opened again in the replacement worker.
    expect([...(await session.run(tensor(3))).data]).toEqual([6]);
  });

  it('close() waits for the run a worker is carrying out, fails what is queued, then refuses work', async () => {
    const p = pool({ workerUrl: fakeWorker });
    const session = await p.openSession(new Uint8Array(1));
    const running = session.run(tensor(-300, 2));
    const queued = session.run(tensor(1));
    await Promise.all([p.close(), expect(running).resolves.toMatchObject({ dims: [1, 1, 1, 2] }), expect(queued).rejects.toThrow(/closed/)]);
    expect(p.stats().workers).toBe(0);
    await expect(session.run(tensor(1))).rejects.toThrow(BackendError);
    await expect(p.openSession(new Uint8Array(1))).rejects.toThrow(/closed/);
  });

  it('a released session fails its queued and later runs', async () => {
    const session = await pool({ workerUrl: fakeWorker }).openSession(new Uint8Array(1));
    const busy = session.run(tensor(-200));
    const queued = session.run(tensor(1));
    await session.release();
    await expect(queued).rejects.toThrow(/released/);
    await busy;
    await expect(session.run(tensor(1))).rejects.toThrow(/released/);
  });
});

describe('resolvePoolSize', () => {
  it('shares the cores out: workers x threads never exceeds them', () => {
    expect(resolvePoolSize({ cores: 8, env: {} })).toEqual({ workers: 1, threads: 8 });
    expect(resolvePoolSize({ cores: 8, workers: 3, env: {} })).toEqual({ workers: 3, threads: 2 });
    expect(resolvePoolSize({ cores: 2, workers: 4, env: {} })).toEqual({ workers: 4, threads: 1 });
  });

  it('reads SUPERRES_WORKERS and SUPERRES_THREADS; options win', () => {
    expect(resolvePoolSize({ cores: 8, env: { SUPERRES_WORKERS: '2', SUPERRES_THREADS: '3' } })).toEqual({ workers: 2, threads: 3 });
    expect(resolvePoolSize({ cores: 8, workers: 4, env: { SUPERRES_WORKERS: '2' } })).toEqual({ workers: 4, threads: 2 });
    expect(() => resolvePoolSize({ env: { SUPERRES_WORKERS: 'many' } })).toThrow(/SUPERRES_WORKERS/);
    expect(() => resolvePoolSize({ workers: 0, env: {} })).toThrow(/workers/);
  });

  it('reads SUPERRES_THREAD_SPINNING; unset leaves ONNX Runtime its default', () => {
    expect(resolvePoolSize({ cores: 2, env: {} })).not.toHaveProperty('spinning');
    expect(resolvePoolSize({ cores: 2, env: { SUPERRES_THREAD_SPINNING: 'false' } })).toMatchObject({ spinning: false });
    expect(resolvePoolSize({ cores: 2, env: { SUPERRES_THREAD_SPINNING: ' TRUE ' } })).toMatchObject({ spinning: true });
    // The same words as the server's SUPERRES_THREAD_SPINNING.
    expect(resolvePoolSize({ cores: 2, env: { SUPERRES_THREAD_SPINNING: 'yes' } })).toMatchObject({ spinning: true });
    expect(resolvePoolSize({ cores: 2, env: { SUPERRES_THREAD_SPINNING: 'No' } })).toMatchObject({ spinning: false });
    expect(resolvePoolSize({ cores: 2, spinning: true, env: { SUPERRES_THREAD_SPINNING: '0' } })).toMatchObject({ spinning: true });
    expect(() => resolvePoolSize({ env: { SUPERRES_THREAD_SPINNING: 'sometimes' } })).toThrow(/SUPERRES_THREAD_SPINNING must be true or false/);
  });
});
