// The PReLU rewrite against ONNX Runtime's own PRelu: same numbers (to float rounding), for
// every kind of slope, and the rewritten graph stays in ONNX Runtime's blocked layout.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attr, OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import { readOnnxModel } from '../onnx/onnx-reader.js';
import { random } from '../test-support/random.js';
import { addBlockedPrelu, signInputChannels } from './prelu-nchwc.js';

const C = 16;
const conv3 = { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) };

/** conv -> PReLU -> conv -> PReLU -> conv (3 -> C -> C -> 3), natively or rewritten. */
function chain(rewrite: boolean, slopes: Float32Array[], seed = 1): Uint8Array {
  const rand = random(seed);
  const weights = (o: number, i: number) => Float32Array.from({ length: o * i * 9 }, () => rand() * 0.4);
  const g = new OnnxGraphBuilder('chain').input('x', 'float32', [1, 3, 'H', 'W']);
  let x = 'x';
  let signs: Float32Array | undefined;
  const shapes = [[C, 3], [C, C], [3, C]] as const;
  shapes.forEach(([o, i], k) => {
    const w = weights(o, i);
    g.initializer(`w${k}`, [o, i, 3, 3], signs ? signInputChannels(w, [o, i, 3, 3], signs) : w);
    g.initializer(`b${k}`, [o], Float32Array.from({ length: o }, () => rand() * 0.1));
    g.node('Conv', [x, `w${k}`, `b${k}`], [`c${k}`], conv3);
    x = `c${k}`;
    signs = undefined;
    const slope = slopes[k];
    if (!slope) return;
    if (rewrite) {
      signs = addBlockedPrelu(g, `p${k}`, x, slope).signs;
    } else {
      g.initializer(`s${k}`, [C, 1, 1], slope);
      g.node('PRelu', [x, `s${k}`], [`p${k}`]);
    }
    x = `p${k}`;
  });
  return g.output(x, 'float32', [1, 3, 'H', 'W']).toBytes();
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-prelu-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(onnx: Uint8Array, input: Float32Array, optimized?: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnx, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    ...(optimized ? { optimizedModelFilePath: optimized } : {}),
  });
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 3, 24, 20]) });
  await session.release();
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe('PReLU in blocked layout (a*y + relu((1-a)*y), signs folded forward)', () => {
  // Slopes of every kind: 0 (ReLU), in (0, 1), exactly 1 (identity), above 1, negative.
  const mixed = Float32Array.from({ length: C }, (_, c) => [0, 0.25, 1, 1.7, -0.3, 0.999, 2.5, -1][c % 8]!);
  const rand = random(7);
  const input = Float32Array.from({ length: 3 * 24 * 20 }, () => rand() + 0.5);

  it('gives the numbers ONNX Runtime\'s PRelu gives, to float32 rounding', async () => {
    for (const slopes of [[mixed, mixed], [mixed.map((a) => a * 0.1), mixed.map((a) => 1 - a)]]) {
      const [native, rewritten] = await Promise.all([run(chain(false, slopes), input), run(chain(true, slopes), input)]);
      let max = 0;
      let scale = 0;
      for (let i = 0; i < native.length; i++) {
        max = Math.max(max, Math.abs(native[i]! - rewritten[i]!));
        scale = Math.max(scale, Math.abs(native[i]!));
      }
      expect(scale).toBeGreaterThan(0.1);
      expect(max / scale).toBeLessThan(1e-5);
    }
  });

  it('leaves no PRelu and fewer layout reorders after ONNX Runtime optimises the graph', async () => {
    const counts = async (rewrite: boolean) => {
      const path = join(dir, `${rewrite ? 'rewritten' : 'native'}.onnx`);
      await run(chain(rewrite, [mixed, mixed]), input, path);
      return readOnnxModel(new Uint8Array(await readFile(path))).opCounts;
    };
    const native = await counts(false);
    const rewritten = await counts(true);
    expect(native.PRelu).toBe(2);
    expect(rewritten.PRelu).toBeUndefined();
    const reorders = (c: Readonly<Record<string, number>>) => (c.ReorderInput ?? 0) + (c.ReorderOutput ?? 0);
    expect(reorders(rewritten)).toBeLessThan(reorders(native));
  });
});
