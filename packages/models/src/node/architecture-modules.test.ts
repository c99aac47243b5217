// A user's architecture known to the worker pool: conversions run in worker threads, which import
// their own copy of the registry, so the pool imports the user's module in each worker first.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upscale } from '@superres/core';
import { writeSafetensors } from '../checkpoint/test-support/safetensors-writer.js';
import { loadModelFile } from './load-model-file.js';
import { createWorkerPool, type WorkerPool } from './pool/worker-pool.js';

// The built package, as a user's module imports it (workers run built code).
const built = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'index.js')).href;

/** ShiftUp2 as a module file: nearest x2, then out = x * weight + bias per channel. */
const MODULE = `
import { registerArchitecture, OnnxGraphBuilder, attr } from ${JSON.stringify(built)};
registerArchitecture({
  name: 'ShiftUp2',
  kind: 'upscaler',
  signature: [/^shift\\.weight$/, /^shift\\.bias$/],
  detect(sd) {
    const w = sd.get('shift.weight');
    return w && sd.has('shift.bias') && sd.size === 2 ? { channels: w.shape[0] } : undefined;
  },
  geometry: () => ({ scale: 2, alignment: 1, receptiveRadius: 0, workingBytesPerPixel: 64 }),
  build(sd, h) {
    const g = new OnnxGraphBuilder('shift-up2');
    g.input('input', 'float32', [1, h.channels, 'h', 'w']);
    g.initializer('scales', [4], new Float32Array([1, 1, 2, 2]));
    g.initializer('w', [1, h.channels, 1, 1], sd.get('shift.weight').data);
    g.initializer('b', [1, h.channels, 1, 1], sd.get('shift.bias').data);
    g.node('Resize', ['input', '', 'scales'], ['up'], { mode: attr.string('nearest') });
    g.node('Mul', ['up', 'w'], ['scaled']);
    g.node('Add', ['scaled', 'b'], ['output']);
    g.output('output', 'float32', [1, h.channels, 'h2', 'w2']);
    return g.toBytes();
  },
});
`;

describe('architectureModules', () => {
  let dir: string;
  let pool: WorkerPool | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-arch-module-'));
    await writeFile(join(dir, 'shift-up2.mjs'), MODULE);
    await writeFile(
      join(dir, 'mine.safetensors'),
      writeSafetensors([
        ['shift.weight', { shape: [3], data: new Float32Array([0.5, 1, 2]) }],
        ['shift.bias', { shape: [3], data: new Float32Array([0.1, 0, -0.25]) }],
      ]),
    );
  });

  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a pool without the module does not know the architecture; with it, the file converts and runs in the workers', async () => {
    const plain = createWorkerPool({ workers: 1, threads: 1 });
    try {
      await expect(loadModelFile(join(dir, 'mine.safetensors'), { pool: plain })).rejects.toMatchObject({ code: 'E_UNSUPPORTED_ARCH' });
    } finally {
      await plain.close();
    }
    pool = createWorkerPool({ workers: 1, threads: 1, architectureModules: [join(dir, 'shift-up2.mjs')] });
    const model = await loadModelFile(join(dir, 'mine.safetensors'), { pool });
    try {
      expect(model.scale).toBe(2);
      const out = await upscale({ width: 1, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array([100, 100, 100]) }, model);
      const expected = [0.5 * (100 / 255) + 0.1, 100 / 255, 2 * (100 / 255) - 0.25].map((v) => Math.round(v * 255));
      expect([...out.data.slice(0, 3)]).toEqual(expected);
      expect([out.width, out.height]).toEqual([2, 2]);
    } finally {
      await model.release();
    }
  });

  it('refuses a relative module path', () => {
    expect(() => createWorkerPool({ architectureModules: ['./x.mjs'] })).toThrow(/absolute path or a file URL/);
  });
});
