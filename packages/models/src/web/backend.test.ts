/**
 * The onnxruntime-web backend, run in Node: the `onnxruntime-web` import resolves to its Node build
 * (dist/ort.node.min.mjs, WebAssembly only), which imports dist/ort-wasm-simd-threaded.mjs and reads
 * the .wasm beside it from the package folder. No network, no wasmPaths needed.
 *
 * Its outputs are compared with onnxruntime-node's on the same ONNX bytes and inputs, within 1e-5
 * absolute. Both run ORT's own CPU kernels, but natively (x86-64 MLAS: AVX2/AVX-512, fused
 * multiply-add) versus WebAssembly SIMD128 (no FMA, other GEMM blocking): float32 sums are taken in
 * another order, so results differ by rounding, not by meaning. The random weights are scaled like
 * a trained network's (variance ~ 1/fan-in, RRDBNet's last convolution brought to image range), so
 * outputs are O(1) like images in [0, 1]; there 1e-5 is ~80 float32 ulps and 1/400 of an 8-bit
 * level. Measured (x86-64, this suite prints them): SRVGG <= 3.6e-7, RRDBNet (2 blocks, 30+ convs
 * deep) <= 1.5e-6, so the bound has a 7x margin for other CPUs, while a real error (a wrong kernel,
 * padding, slope or upsampling) is orders of magnitude larger.
 */
import {
  AbortedError,
  BackendError,
  InvalidOptionError,
  createImage,
  fromSession,
  upscale,
  type Image,
  type InferenceBackend,
  type ModelPlugin,
  type SessionOptions,
  type Tensor,
} from '@superres/core';
import { afterAll, describe, expect, it } from 'vitest';
import { random } from '../test-support/random.js';
import type { StateDict } from '../checkpoint/types.js';
import { buildRrdbOnnx } from '../architectures/rrdbnet.js';
import { buildSrvggOnnx, type SrvggActivation } from '../architectures/srvgg.js';
import { createNodeBackend } from '../node/backend.js';
import { OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { createWebBackend } from './index.js';

const TOLERANCE = 1e-5;

interface SrvggSpec {
  activation: SrvggActivation;
  upscale: number;
  numFeat: number;
  numConv: number;
  numInCh: number;
}

/** A random SRVGGNetCompact state dict with trained-like magnitudes (uniform, std ~ 1/sqrt(fan-in)). */
function srvggStateDict(spec: SrvggSpec, seed: number): StateDict {
  const rand = random(seed);
  const sd: StateDict = new Map();
  const put = (name: string, shape: number[], scale: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => 2 * rand() * scale) });
  };
  const last = 2 * (spec.numConv + 1);
  for (let i = 0; i <= last; i += 2) {
    const inCh = i === 0 ? spec.numInCh : spec.numFeat;
    const out = i === last ? spec.numInCh * spec.upscale ** 2 : spec.numFeat;
    put(`body.${i}.weight`, [out, inCh, 3, 3], Math.sqrt(3 / (inCh * 9)));
    put(`body.${i}.bias`, [out], 0.1);
    if (spec.activation === 'prelu' && i < last) put(`body.${i + 1}.weight`, [spec.numFeat], 0.25);
  }
  return sd;
}

/**
 * A random RRDBNet state dict in BasicSR's layout (two upsampling convolutions; x2 and x1 models
 * pixel-unshuffle their input by 2 and 4 first), weights uniform with variance 2 / fan-in.
 */
function rrdbStateDict(spec: { numFeat: number; numGrowCh: number; numBlock: number; unshuffle: number }, seed: number): StateDict {
  const rand = random(seed);
  const sd: StateDict = new Map();
  const { numFeat: nf, numGrowCh: gc } = spec;
  const conv = (prefix: string, out: number, input: number, gain = 1) => {
    const a = Math.sqrt(6 / (input * 9)) * 2 * gain;
    sd.set(`${prefix}.weight`, {
      dtype: 'float32',
      shape: [out, input, 3, 3],
      data: Float32Array.from({ length: out * input * 9 }, () => rand() * a),
    });
    sd.set(`${prefix}.bias`, { dtype: 'float32', shape: [out], data: Float32Array.from({ length: out }, () => rand() * 0.2) });
  };
  conv('conv_first', nf, 3 * spec.unshuffle ** 2);
  for (let i = 0; i < spec.numBlock; i++) {
    for (let k = 1; k <= 3; k++) {
      for (let j = 1; j <= 5; j++) conv(`body.${i}.rdb${k}.conv${j}`, j < 5 ? gc : nf, nf + (j - 1) * gc);
    }
  }
  for (const name of ['conv_body', 'conv_up1', 'conv_up2', 'conv_hr']) conv(name, nf, nf);
  // A trained network ends in image range; Kaiming-scaled random weights would end near +-7.
  conv('conv_last', 3, nf, 0.2);
  return sd;
}

function randomTensor(dims: number[], seed: number): Tensor {
  const rand = random(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => rand() + 0.5), dims };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function maxAbs(a: Float32Array): number {
  let max = 0;
  for (const v of a) max = Math.max(max, Math.abs(v));
  return max;
}

/** y = x * 2 on a [N, C, H, W] float tensor. */
function doubler(): Uint8Array {
  return new OnnxGraphBuilder('double')
    .input('pixels', 'float32', ['N', 'C', 'H', 'W'])
    .initializer('two', [], new Float32Array([2]))
    .node('Mul', ['pixels', 'two'], ['doubled'])
    .output('doubled', 'float32', ['N', 'C', 'H', 'W'])
    .toBytes();
}

const small = { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [1, 1, 2, 3] };

async function runOnce(backend: InferenceBackend, onnx: Uint8Array, input: Tensor, options?: SessionOptions): Promise<Tensor> {
  const session = await backend.createSession(onnx, options);
  try {
    return await session.run(input);
  } finally {
    await session.release();
  }
}

/** Measured differences, printed once at the end: the numbers behind the tolerance. */
const measured: string[] = [];
afterAll(() => {
  if (measured.length > 0) console.info(`web vs node backend, max |difference|:\n  ${measured.join('\n  ')}`);
});

const node = createNodeBackend({ threads: 1 });
const web = createWebBackend();

describe('report(): what the runtime really runs with', () => {
  // First in this file: ORT Web's runtime starts once per process, here, on a "page" that is not
  // cross-origin isolated (in Node crossOriginIsolated is undefined and threads would work).
  it('asking for 2 threads without cross-origin isolation runs 1 and says why (COOP/COEP)', async () => {
    const scope = globalThis as { crossOriginIsolated?: boolean };
    const before = Object.getOwnPropertyDescriptor(globalThis, 'crossOriginIsolated');
    scope.crossOriginIsolated = false;
    try {
      const backend = createWebBackend({ numThreads: 2 });
      expect(backend.report()).toBeUndefined();
      expect([...(await runOnce(backend, doubler(), small)).data]).toEqual([2, 4, 6, 8, 10, 12]);
      const report = backend.report()!;
      expect(report).toMatchObject({ device: 'wasm', requestedDevice: 'cpu', threads: 1, requestedThreads: 2, proxy: false });
      expect(report.reduced).toMatch(/^2 WebAssembly threads were asked for, 1 runs: .*cross-origin isolated \(COOP\/COEP\)/);
      expect(report.reduced).toMatch(/Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
      // Another backend of the same page asking for more: the same one thread, said again, no conflict.
      const four = createWebBackend();
      await runOnce(four, doubler(), small, { threads: 4 });
      expect(four.report()).toMatchObject({ threads: 1, requestedThreads: 4, reduced: expect.stringMatching(/^4 WebAssembly threads were asked for, 1 runs/) });
    } finally {
      if (before) Object.defineProperty(globalThis, 'crossOriginIsolated', before);
      else delete scope.crossOriginIsolated;
    }
  });

  it('by default reports device wasm and the one thread that runs, nothing reduced', async () => {
    const backend = createWebBackend();
    await runOnce(backend, doubler(), small);
    const report = backend.report();
    expect(report).toEqual({ device: 'wasm', requestedDevice: 'cpu', threads: 1, requestedThreads: undefined, proxy: false });
    // A copy: the caller cannot change what the backend reports next.
    report!.threads = 99;
    expect(backend.report()!.threads).toBe(1);
  });

  it('device auto without WebGPU reports wasm and why', async () => {
    const backend = createWebBackend({ device: 'auto' });
    await runOnce(backend, doubler(), small);
    expect(backend.report()).toMatchObject({ device: 'wasm', requestedDevice: 'auto', threads: 1 });
    if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) {
      expect(backend.report()!.reduced).toMatch(/^device "auto" runs on WebAssembly: WebGPU is not supported.*navigator\.gpu is missing/);
    }
  });

  it('wasmThreadsProblem: no threads without isolation or without SharedArrayBuffer', async () => {
    const { wasmThreadsProblem } = await import('./backend.js');
    const SAB = globalThis.SharedArrayBuffer;
    expect(wasmThreadsProblem({ crossOriginIsolated: true, SharedArrayBuffer: SAB })).toBeUndefined();
    expect(wasmThreadsProblem({ SharedArrayBuffer: SAB })).toBeUndefined(); // Node
    expect(wasmThreadsProblem({ crossOriginIsolated: false, SharedArrayBuffer: SAB })).toMatch(/not cross-origin isolated \(COOP\/COEP\)/);
    expect(wasmThreadsProblem({ crossOriginIsolated: false })).toMatch(/not cross-origin isolated/);
    expect(wasmThreadsProblem({})).toMatch(/SharedArrayBuffer is not available.*cross-origin isolated pages \(COOP\/COEP\)/);
  });
});

describe('createWebBackend in Node (WebAssembly)', () => {
  it('runs a graph on WebAssembly, feeding the first input and returning the first output', async () => {
    expect(web.name).toBe('onnxruntime-web');
    const session = await web.createSession(doubler(), { graphOptimization: 'basic', device: 'cpu' });
    const out = await session.run(small);
    expect(out.dims).toEqual([1, 1, 2, 3]);
    expect(out.data).toBeInstanceOf(Float32Array);
    expect([...out.data]).toEqual([2, 4, 6, 8, 10, 12]);
    await session.release();
    await session.release(); // idempotent
    await expect(session.run(small)).rejects.toThrow(/released/);
  });

  it('runs a graph with two inputs and two outputs by name (runNamed), on WebAssembly and on the Node workers', async () => {
    const onnx = new OnnxGraphBuilder('two-by-two')
      .input('a', 'float32', ['N'])
      .input('b', 'float32', ['N'])
      .node('Add', ['a', 'b'], ['sum'])
      .node('Mul', ['a', 'b'], ['product'])
      .output('sum', 'float32', ['N'])
      .output('product', 'float32', ['N'])
      .toBytes();
    for (const backend of [web, node]) {
      const session = await backend.createSession(onnx);
      try {
        const out = await session.runNamed!({ a: { data: new Float32Array([1, 2, 3]), dims: [3] }, b: { data: new Float32Array([4, 5, 6]), dims: [3] } });
        expect(Object.keys(out).sort()).toEqual(['product', 'sum']);
        expect([...out.sum!.data]).toEqual([5, 7, 9]);
        expect([...out.product!.data]).toEqual([4, 10, 18]);
        // Handed over twice the same buffer, or a view: still right.
        const shared = new Float32Array([2, 2, 2]);
        const twice = await session.runNamed!({ a: { data: shared, dims: [3] }, b: { data: shared, dims: [3] } }, { transfer: true });
        expect([...twice.product!.data]).toEqual([4, 4, 4]);
        await expect(session.runNamed!({ c: { data: new Float32Array([1]), dims: [1] } })).rejects.toThrow(/no input "c"/);
      } finally {
        await session.release();
      }
    }
  });

  it('accepts a subarray view as input data, and every optimization level with device auto', async () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const out = await runOnce(web, doubler(), { data: backing.subarray(1, 4), dims: [1, 1, 1, 3] });
    expect([...out.data]).toEqual([2, 4, 6]);
    expect([...backing]).toEqual([9, 1, 2, 3, 9]); // the caller's buffer is untouched
    for (const graphOptimization of ['disabled', 'basic', 'extended', 'all'] as const) {
      const result = await runOnce(createWebBackend({ graphOptimization, device: 'auto' }), doubler(), small);
      expect([...result.data]).toEqual([2, 4, 6, 8, 10, 12]);
    }
  });

  const cases: Array<SrvggSpec & { name: string }> = [
    { name: 'prelu x4', activation: 'prelu', upscale: 4, numFeat: 16, numConv: 4, numInCh: 3 },
    { name: 'prelu x2', activation: 'prelu', upscale: 2, numFeat: 16, numConv: 4, numInCh: 3 },
    { name: 'relu x4', activation: 'relu', upscale: 4, numFeat: 12, numConv: 3, numInCh: 3 },
    { name: 'relu x2', activation: 'relu', upscale: 2, numFeat: 12, numConv: 3, numInCh: 3 },
    { name: 'leakyrelu x4', activation: 'leakyrelu', upscale: 4, numFeat: 8, numConv: 5, numInCh: 3 },
    { name: 'leakyrelu x2', activation: 'leakyrelu', upscale: 2, numFeat: 8, numConv: 5, numInCh: 3 },
  ];
  for (const [index, spec] of cases.entries()) {
    it(`SRVGGNetCompact ${spec.name}: equals onnxruntime-node within ${TOLERANCE.toExponential()}`, async () => {
      const { onnx } = buildSrvggOnnx(srvggStateDict(spec, 100 + index), { activation: spec.activation });
      const input = randomTensor([1, spec.numInCh, 19, 23], 200 + index);
      const expected = await runOnce(node, onnx, input);
      const actual = await runOnce(web, onnx, input);
      expect(actual.dims).toEqual([1, spec.numInCh, 19 * spec.upscale, 23 * spec.upscale]);
      expect(actual.dims).toEqual(expected.dims);
      const diff = maxAbsDiff(actual.data, expected.data);
      measured.push(`SRVGG ${spec.name}: ${diff.toExponential(2)} (outputs up to ${maxAbs(expected.data).toFixed(2)})`);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  for (const [index, unshuffle] of [1, 2, 4].entries()) {
    const scale = 4 / unshuffle;
    it(`RRDBNet x${scale}: equals onnxruntime-node within ${TOLERANCE.toExponential()}`, async () => {
      const { onnx, geometry } = buildRrdbOnnx(rrdbStateDict({ numFeat: 16, numGrowCh: 8, numBlock: 2, unshuffle }, 300 + index));
      expect(geometry.scale).toBe(scale);
      const input = randomTensor([1, 3, 16, 20], 400 + index);
      const expected = await runOnce(node, onnx, input);
      const actual = await runOnce(web, onnx, input);
      expect(actual.dims).toEqual([1, 3, 16 * scale, 20 * scale]);
      expect(actual.dims).toEqual(expected.dims);
      const diff = maxAbsDiff(actual.data, expected.data);
      measured.push(`RRDBNet x${scale}: ${diff.toExponential(2)} (outputs up to ${maxAbs(expected.data).toFixed(2)})`);
      expect(diff).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('gives upscale() the same 8-bit image as onnxruntime-node, whole and tiled, with alpha', async () => {
    const spec: SrvggSpec = { activation: 'prelu', upscale: 4, numFeat: 16, numConv: 4, numInCh: 3 };
    const built = buildSrvggOnnx(srvggStateDict(spec, 7));
    const plugin: ModelPlugin = {
      id: 'random-srvgg-x4',
      kind: 'upscaler',
      ...built.geometry,
      toOnnx: async () => built.onnx,
    };
    const image = createImage(21, 14, 4, 8);
    const rand = random(9);
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.floor((rand() + 0.5) * 256);

    const results: Image[][] = [];
    for (const backend of [node, web]) {
      const session = await backend.createSession(await plugin.toOnnx(new Uint8Array()));
      const model = fromSession(plugin, session);
      try {
        results.push([
          await upscale(image, model),
          await upscale(image, model, { tile: 8, tilePad: model.receptiveRadius, outscale: 3 }),
        ]);
      } finally {
        await model.release();
      }
    }
    const [fromNode, fromWeb] = results as [Image[], Image[]];
    for (let k = 0; k < fromNode.length; k++) {
      const a = fromNode[k]!;
      const b = fromWeb[k]!;
      expect([b.width, b.height, b.channels, b.bitDepth]).toEqual([a.width, a.height, a.channels, a.bitDepth]);
      let maxDiff = 0;
      let differing = 0;
      for (let i = 0; i < a.data.length; i++) {
        const d = Math.abs(a.data[i]! - b.data[i]!);
        if (d > 0) differing++;
        maxDiff = Math.max(maxDiff, d);
      }
      measured.push(
        `upscale() ${a.width}x${a.height} ${k === 0 ? 'whole' : 'tiled, outscale 3'}: max ${maxDiff} level, ${differing} of ${a.data.length} samples differ`,
      );
      expect(maxDiff).toBeLessThanOrEqual(1);
    }
    expect([fromNode[0]!.width, fromNode[0]!.height]).toEqual([84, 56]);
    expect([fromNode[1]!.width, fromNode[1]!.height]).toEqual([63, 42]);
  });

  it('wraps invalid ONNX bytes in BackendError with the runtime error as cause', async () => {
    const error = await web.createSession(new Uint8Array([1, 2, 3, 4])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('E_BACKEND');
    expect((error as BackendError).message).toMatch(/WebAssembly/);
    expect((error as BackendError).cause).toBeDefined();
  });

  it('wraps a failing run (wrong input shape) in BackendError', async () => {
    const bytes = new OnnxGraphBuilder('fixed')
      .input('x', 'float32', [1, 1, 2, 3])
      .node('Relu', ['x'], ['y'])
      .output('y', 'float32', [1, 1, 2, 3])
      .toBytes();
    const session = await web.createSession(bytes);
    await expect(session.run({ data: new Float32Array(6), dims: [6] })).rejects.toBeInstanceOf(BackendError);
    await session.release();
  });

  it('throws AbortedError for an already aborted signal, before running', async () => {
    const session = await web.createSession(doubler());
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    const error = await session.run(small, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toEqual(new Error('user cancelled'));
    await session.release();
  });

  it('throws AbortedError when the signal fires during the run', async () => {
    const session = await web.createSession(doubler());
    const controller = new AbortController();
    const running = session.run(small, { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    await session.release();
  });

  it('refuses device cuda: browsers have no CUDA', async () => {
    const error = await createWebBackend({ device: 'cuda' })
      .createSession(doubler())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/"cuda" is not available in onnxruntime-web/);
    // A per-session device overrides the default.
    const out = await runOnce(createWebBackend({ device: 'cuda' }), doubler(), small, { device: 'cpu' });
    expect([...out.data]).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('refuses device webgpu in Node with a BackendError naming WebGPU', async () => {
    const error = await createWebBackend({ device: 'webgpu' })
      .createSession(doubler())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/WebGPU/);
    // Node has no navigator.gpu (and ORT's Node build no WebGPU provider either).
    if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === undefined) {
      expect((error as Error).message).toMatch(/Device "webgpu" is not available: WebGPU is not supported.*navigator\.gpu is missing/);
    }
  });

  it('validates options, naming the option', async () => {
    expect(() => createWebBackend({ threads: -1 })).toThrow(InvalidOptionError);
    expect(() => createWebBackend({ numThreads: 1.5 })).toThrow(/Option numThreads must be a non-negative integer/);
    expect(() => createWebBackend({ threads: 2, numThreads: 4 })).toThrow(/threads \(2\) and numThreads \(4\)/);
    expect(() => createWebBackend({ device: 'tpu' } as unknown as SessionOptions)).toThrow(/Option device must be one of/);
    expect(() => createWebBackend({ wasmPaths: '/ort' })).toThrow(/Option wasmPaths must be a URL prefix ending in "\/"/);
    expect(() => createWebBackend({ wasmPaths: { wasm: '' } })).toThrow(/Option wasmPaths/);
    expect(() => createWebBackend({ wasmPaths: { js: '/x.js' } as unknown as { wasm: string } })).toThrow(/Option wasmPaths/);
    expect(() => createWebBackend({ proxy: 'yes' as unknown as boolean })).toThrow(/Option proxy must be a boolean/);
    await expect(
      web.createSession(doubler(), { graphOptimization: 'max' } as unknown as SessionOptions),
    ).rejects.toThrow(/Option graphOptimization/);
  });

  it('refuses runtime settings that differ from the ones the runtime started with', async () => {
    // The runtime started in an earlier test (or starts here) with one thread and the default paths.
    await runOnce(web, doubler(), small);
    const threads = await createWebBackend({ numThreads: 2 })
      .createSession(doubler())
      .catch((e: unknown) => e);
    expect(threads).toBeInstanceOf(BackendError);
    expect((threads as Error).message).toMatch(/already started.*numThreads 2 \(running: 1\)/);
    const paths = await createWebBackend({ wasmPaths: '/ort/' })
      .createSession(doubler())
      .catch((e: unknown) => e);
    expect((paths as Error).message).toMatch(/wasmPaths "\/ort\/"/);
    // The same settings as the running ones are fine.
    const same = await runOnce(createWebBackend({ numThreads: 1, proxy: false }), doubler(), small);
    expect([...same.data]).toEqual([2, 4, 6, 8, 10, 12]);
    // 0 = the runtime's choice, which is whatever runs.
    const any = await runOnce(web, doubler(), small, { threads: 0 });
    expect([...any.data]).toEqual([2, 4, 6, 8, 10, 12]);
  });
});

describe('defaultProxy', () => {
  it('runs WebAssembly in ORT\'s proxy worker on a page\'s main thread only', async () => {
    const { defaultProxy } = await import('./backend.js');
    class FakeWorker {}
    expect(defaultProxy(false, { document: {}, Worker: FakeWorker })).toBe(true);
    // WebGPU: ORT's proxy serves WebAssembly only.
    expect(defaultProxy(true, { document: {}, Worker: FakeWorker })).toBeUndefined();
    // A Web Worker (no document) or Node: no proxy of a proxy.
    expect(defaultProxy(false, { Worker: FakeWorker })).toBeUndefined();
    expect(defaultProxy(false, {})).toBeUndefined();
    expect(defaultProxy(false)).toBeUndefined();
  });
});
