import { AbortedError, BackendError, InvalidOptionError, type SessionOptions } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { createNodeBackend, sharedWorkerPool } from './index.js';

/** y = x * 2 on a [N, C, H, W] float tensor. */
function doubler(): Uint8Array {
  return new OnnxGraphBuilder('double')
    .input('pixels', 'float32', ['N', 'C', 'H', 'W'])
    .initializer('two', [], new Float32Array([2]))
    .node('Mul', ['pixels', 'two'], ['doubled'])
    .output('doubled', 'float32', ['N', 'C', 'H', 'W'])
    .toBytes();
}

const input = { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [1, 1, 2, 3] };

describe('createNodeBackend', () => {
  it('runs a graph on the CPU, feeding the first input and returning the first output', async () => {
    const backend = createNodeBackend();
    expect(backend.name).toBe('onnxruntime-node');
    const session = await backend.createSession(doubler(), { threads: 1, graphOptimization: 'basic', device: 'cpu' });
    const out = await session.run(input);
    expect(out.dims).toEqual([1, 1, 2, 3]);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect([...out.data]).toEqual([2, 4, 6, 8, 10, 12]);
    await session.release();
    await session.release(); // idempotent
    await expect(session.run(input)).rejects.toThrow(/released/);
  });

  it('accepts a subarray view as input data', async () => {
    const session = await createNodeBackend().createSession(doubler());
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const out = await session.run({ data: backing.subarray(1, 4), dims: [1, 1, 1, 3] });
    expect([...out.data]).toEqual([2, 4, 6]);
    await session.release();
  });

  it('works with every optimization level and device auto', async () => {
    for (const graphOptimization of ['disabled', 'basic', 'extended', 'all'] as const) {
      const session = await createNodeBackend({ graphOptimization, device: 'auto' }).createSession(doubler());
      expect([...(await session.run(input)).data]).toEqual([2, 4, 6, 8, 10, 12]);
      await session.release();
    }
  });

  it('throws AbortedError for an already aborted signal, before running', async () => {
    const session = await createNodeBackend().createSession(doubler());
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    const error = await session.run(input, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toEqual(new Error('user cancelled'));
    await session.release();
  });

  it('throws AbortedError when the signal fires during the run', async () => {
    const session = await createNodeBackend().createSession(doubler());
    const controller = new AbortController();
    const running = session.run(input, { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    await session.release();
  });

  it('wraps invalid ONNX bytes in BackendError with the runtime error as cause', async () => {
    const error = await createNodeBackend()
      .createSession(new Uint8Array([1, 2, 3, 4]))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('E_BACKEND');
    expect((error as BackendError).message).toMatch(/protobuf parsing failed/);
    expect((error as BackendError).cause).toBeInstanceOf(Error);
  });

  it('wraps a failing run (wrong input rank) in BackendError', async () => {
    const bytes = new OnnxGraphBuilder('fixed')
      .input('x', 'float32', [1, 1, 2, 3])
      .node('Relu', ['x'], ['y'])
      .output('y', 'float32', [1, 1, 2, 3])
      .toBytes();
    const session = await createNodeBackend().createSession(bytes);
    await expect(session.run({ data: new Float32Array(6), dims: [6] })).rejects.toBeInstanceOf(BackendError);
    await expect(session.run({ data: new Float32Array(5), dims: [1, 1, 2, 3] })).rejects.toBeInstanceOf(BackendError);
    await session.release();
  });

  it('reports a missing CUDA execution provider by name', async (ctx) => {
    const result = await createNodeBackend({ device: 'cuda' })
      .createSession(doubler())
      .then(async (session) => {
        await session.release();
        return 'cuda works';
      })
      .catch((e: unknown) => e);
    if (result === 'cuda works') ctx.skip('this machine has a working CUDA execution provider');
    expect(result).toBeInstanceOf(BackendError);
    expect((result as Error).message).toMatch(/CUDA execution provider/);
  });

  it('opens WebGPU where an adapter exists, else says WebGPU failed', async () => {
    const result = await createNodeBackend({ device: 'webgpu' })
      .createSession(doubler())
      .then(async (session) => {
        const out = await session.run(input);
        await session.release();
        return out;
      })
      .catch((e: unknown) => e);
    if (result instanceof Error) {
      expect(result).toBeInstanceOf(BackendError);
      expect(result.message).toMatch(/WebGPU/);
    } else {
      expect([...(result as { data: Float32Array }).data]).toEqual([2, 4, 6, 8, 10, 12]);
    }
  });

  it('validates options, naming the option', async () => {
    expect(() => createNodeBackend({ threads: -1 })).toThrow(InvalidOptionError);
    expect(() => createNodeBackend({ device: 'tpu' } as unknown as SessionOptions)).toThrow(/Option device must be one of/);
    await expect(
      createNodeBackend().createSession(doubler(), { graphOptimization: 'max' } as unknown as SessionOptions),
    ).rejects.toThrow(/Option graphOptimization/);
  });

  it('report(): the device and intra-op threads of its latest session', async () => {
    const backend = createNodeBackend();
    expect(backend.report()).toBeUndefined();
    const session = await backend.createSession(doubler());
    expect(backend.report()).toEqual({ device: 'cpu', requestedDevice: 'cpu', threads: sharedWorkerPool().threads, requestedThreads: undefined, proxy: false });
    await session.release();
    const one = await backend.createSession(doubler(), { threads: 1, device: 'auto' });
    // 'auto' is decided inside the worker: the backend does not claim to know.
    expect(backend.report()).toEqual({ device: undefined, requestedDevice: 'auto', threads: 1, requestedThreads: 1, proxy: false });
    await one.release();
  });

  it('lets per-session options override the backend defaults', async () => {
    // A bad default device is overridden by an explicit cpu.
    const backend = createNodeBackend({ device: 'cuda' });
    const session = await backend.createSession(doubler(), { device: 'cpu' });
    expect([...(await session.run(input)).data]).toEqual([2, 4, 6, 8, 10, 12]);
    await session.release();
  });
});
