import { BadCheckpointError, InvalidOptionError, loadModel, upscale, UnsupportedArchitectureError } from '@superres/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { StateDict } from '../checkpoint/types.js';
import { writeSafetensors } from '../checkpoint/test-support/safetensors-writer.js';
import { createNodeBackend } from '../node/backend.js';
import { closeSharedWorkerPool } from '../node/pool/shared-pool.js';
import { attr, OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { pluginFromCheckpoint } from '../plugins/file-plugin.js';
import type { Architecture } from './architecture.js';
import { BUILTIN_ARCHITECTURES } from './builtin.js';
import { architectures, detectArchitecture, registerArchitecture } from './detect.js';
import { createArchitectureRegistry, readablePattern } from './registry.js';

function put(sd: StateDict, name: string, shape: number[], fill = 0.01): void {
  sd.set(name, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
}

/** SRVGGNetCompact with PReLU, num_feat 4, num_conv 1, x4. */
function srvggX4(prefix = ''): StateDict {
  const sd: StateDict = new Map();
  put(sd, `${prefix}body.0.weight`, [4, 3, 3, 3]);
  put(sd, `${prefix}body.0.bias`, [4]);
  put(sd, `${prefix}body.1.weight`, [4]);
  put(sd, `${prefix}body.2.weight`, [4, 4, 3, 3]);
  put(sd, `${prefix}body.2.bias`, [4]);
  put(sd, `${prefix}body.3.weight`, [4]);
  put(sd, `${prefix}body.4.weight`, [48, 4, 3, 3]);
  put(sd, `${prefix}body.4.bias`, [48]);
  return sd;
}

interface ShiftHyper {
  channels: number;
}

/**
 * A user's own architecture, written here: x2 nearest upsampling then a per-channel affine
 * (`shift.weight` [C], `shift.bias` [C]): out = up2(x) * weight + bias.
 */
const shiftArchitecture: Architecture<ShiftHyper> = {
  name: 'ShiftUp2',
  kind: 'upscaler',
  signature: [/^shift\.weight$/, /^shift\.bias$/],
  detect(stateDict) {
    const weight = stateDict.get('shift.weight');
    if (!weight || !stateDict.has('shift.bias') || stateDict.size !== 2) return undefined;
    if (weight.shape.length !== 1) throw new BadCheckpointError(`ShiftUp2: tensor shift.weight has shape [${weight.shape.join(', ')}], expected [channels]`);
    return { channels: weight.shape[0]! };
  },
  geometry: () => ({ scale: 2, alignment: 1, receptiveRadius: 0, workingBytesPerPixel: 64 }),
  macsPerOutputPixel: (h) => h.channels,
  build(stateDict, h) {
    const g = new OnnxGraphBuilder('shift-up2');
    g.input('input', 'float32', [1, h.channels, 'h', 'w']);
    g.initializer('scales', [4], new Float32Array([1, 1, 2, 2]));
    g.initializer('w', [1, h.channels, 1, 1], stateDict.get('shift.weight')!.data as Float32Array);
    g.initializer('b', [1, h.channels, 1, 1], stateDict.get('shift.bias')!.data as Float32Array);
    g.node('Resize', ['input', '', 'scales'], ['up'], { mode: attr.string('nearest') });
    g.node('Mul', ['up', 'w'], ['scaled']);
    g.node('Add', ['scaled', 'b'], ['output']);
    g.output('output', 'float32', [1, h.channels, 'h2', 'w2']);
    return g.toBytes({ opset: 17 });
  },
};

describe('the architecture registry', () => {
  it('detects through training wrappers: module., netG., and chains of them', () => {
    expect(detectArchitecture(srvggX4('module.'))).toMatchObject({ architecture: 'SRVGGNetCompact', strippedPrefix: 'module.' });
    expect(detectArchitecture(srvggX4('netG.module.'))).toMatchObject({ architecture: 'SRVGGNetCompact', strippedPrefix: 'netG.module.' });
    expect(detectArchitecture(srvggX4())).not.toHaveProperty('strippedPrefix');
    // A prefix on only some names is no wrapper.
    const mixed = srvggX4('module.');
    put(mixed, 'extra', [1]);
    expect(() => detectArchitecture(mixed)).toThrow(UnsupportedArchitectureError);
  });

  it('reports a wrong-shaped tensor of a recognised layout by name', () => {
    const sd = srvggX4();
    put(sd, 'body.2.weight', [4, 4, 5, 5]);
    expect(() => detectArchitecture(sd)).toThrow(BadCheckpointError);
    expect(() => detectArchitecture(sd)).toThrow(/body\.2\.weight/);
  });

  it('ranks the closest candidates and names the tensors that did not fit', () => {
    const sd = srvggX4();
    put(sd, 'tail.weight', [3, 3, 1, 1]);
    const error = (() => {
      try {
        detectArchitecture(sd);
      } catch (e) {
        return e as UnsupportedArchitectureError;
      }
      throw new Error('expected a failure');
    })();
    const [first] = error.details.candidates as { architecture: string; matched: number; total: number; unexplained: string[] }[];
    expect(first).toMatchObject({ architecture: 'SRVGGNetCompact', matched: 3, total: 3, unexplained: ['tail.weight'] });
    expect(error.message).toMatch(/Closest: SRVGGNetCompact \(3\/3 of its tensor patterns; 1 tensor\(s\) it does not explain, e\.g\. tail\.weight\)/);
  });

  it('orders by "before", refuses duplicates and cycles', () => {
    const a = { ...shiftArchitecture, name: 'A' };
    const b = { ...shiftArchitecture, name: 'B', before: ['A'] };
    expect(createArchitectureRegistry([a, b]).list().map((x) => x.name)).toEqual(['B', 'A']);
    expect(() => createArchitectureRegistry([a, a])).toThrow(/already registered/);
    const registry = createArchitectureRegistry([{ ...a, before: ['B'] }]);
    expect(() => registry.register(b)).toThrow(InvalidOptionError);
    expect(registry.list().map((x) => x.name)).toEqual(['A']);
    expect(() => createArchitectureRegistry().register({ ...a, detect: undefined } as never)).toThrow(/detect must be a function/);
    expect(readablePattern('^(body\\.\\d+\\.rdb\\d\\.conv\\d|RRDB_trunk)\\.')).toBe('body.<n>.rdb<n>.conv<n>.');
  });

  describe('a user-registered architecture', () => {
    const backend = createNodeBackend({ threads: 1 });
    afterAll(() => closeSharedWorkerPool());

    it('is detected, inspected and runs through upscale() with the pixels its graph defines', async () => {
      const before = architectures.list().length;
      registerArchitecture(shiftArchitecture);
      expect(architectures.list().map((a) => a.name)).toEqual([...BUILTIN_ARCHITECTURES.map((a) => a.name), 'ShiftUp2']);
      expect(architectures.list()).toHaveLength(before + 1);
      const file = writeSafetensors([
        ['shift.weight', { shape: [3], data: new Float32Array([0.5, 1, 2]) }],
        ['shift.bias', { shape: [3], data: new Float32Array([0.1, 0, -0.25]) }],
      ]);
      const plugin = pluginFromCheckpoint('mine', file);
      expect(plugin.info.architecture).toBe('ShiftUp2');
      expect(plugin.scale).toBe(2);
      const model = await loadModel(plugin, file, backend);
      try {
        const input = { width: 2, height: 1, channels: 3 as const, bitDepth: 8 as const, data: new Uint8Array([100, 100, 100, 200, 50, 10]) };
        const out = await upscale(input, model);
        expect([out.width, out.height]).toEqual([4, 2]);
        // Nearest x2, then per channel: 0.5x + 0.1, x, 2x - 0.25 (in 0..1), rounded to 8 bits.
        const expected = (v: number, c: number) => Math.round(Math.min(1, Math.max(0, [0.5, 1, 2][c]! * (v / 255) + [0.1, 0, -0.25][c]!)) * 255);
        const pixel = (x: number, y: number) => [...out.data.slice((y * 4 + x) * 3, (y * 4 + x) * 3 + 3)];
        expect(pixel(0, 0)).toEqual([100, 100, 100].map(expected));
        expect(pixel(3, 1)).toEqual([200, 50, 10].map(expected));
      } finally {
        await model.release();
      }
    });
  });
});
