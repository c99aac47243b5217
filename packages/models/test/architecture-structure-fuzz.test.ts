// Bounded structural fuzz of the architecture modules: each architecture's random-weight fixture
// checkpoints, as state dicts, mutated with a fixed seed (tensors removed, renamed, duplicated,
// reshaped, turned into int64, their values scrambled: what a truncated export, another version of
// the network or a hostile file gives). Detection and the graph build must end in a graph or a
// typed SuperresError: never a TypeError, a RangeError or an allocation the file did not pay for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test-support/fixtures.js';
import { prng } from '../../../test-support/mutate.js';
import { buildGraphFromStateDict } from '../src/architectures/detect.js';
import { readCheckpoint } from '../src/checkpoint/read-checkpoint.js';
import type { StateDict, TensorEntry } from '../src/checkpoint/types.js';

const ITERATIONS = 300;
const DIMS = [0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 16, 17, 24, 32, 48, 64];
/** Largest tensor a mutation makes (elements): the graph may cost a multiple of the file, not more. */
const MAX_ELEMENTS = 1 << 18;

const fixtures = [
  ['variants', 'rrdb_x2.pth'],
  ['variants', 'esrgan_old_x4.pth'],
  ['variants', 'srvgg_prelu_x2.pth'],
  ['span', 'span_x4.pth'],
  ['plksr', 'realplksr_x2.pth'],
  ['plksr', 'plksr_iccm_rect_x4.pth'],
  ['omnisr', 'omnisr_x2.pth'],
  ['swinir', 'swinir_realsr_x4.pth'],
  ['hat', 'hat_x2.pth'],
  ['dat', 'dat_x2.pth'],
  ['dat', 'dat_light_x4.pth'],
] as const;

type Mutation = (sd: StateDict, random: () => number) => string;

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;
const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function randomShape(random: () => number): number[] {
  for (;;) {
    const shape = Array.from({ length: Math.floor(random() * 5) }, () => pick(DIMS, random));
    if (elements(shape) <= MAX_ELEMENTS) return shape;
  }
}

function floats(shape: readonly number[], random: () => number): TensorEntry {
  return { dtype: 'float32', shape: [...shape], data: Float32Array.from({ length: elements(shape) }, () => (random() - 0.5) * 4) };
}

const mutations: Record<string, Mutation> = {
  remove(sd, random) {
    const name = pick([...sd.keys()], random);
    sd.delete(name);
    return `remove ${name}`;
  },
  rename(sd, random) {
    const name = pick([...sd.keys()], random);
    const renamed = name.replace(/\d+/, () => String(Math.floor(random() * 12)));
    const entry = sd.get(name)!;
    sd.delete(name);
    sd.set(renamed, entry);
    return `rename ${name} -> ${renamed}`;
  },
  duplicate(sd, random) {
    const name = pick([...sd.keys()], random);
    const copy = name.replace(/\.(weight|bias)$/, '.extra.$1');
    sd.set(copy === name ? `${name}_extra` : copy, sd.get(name)!);
    return `duplicate ${name}`;
  },
  reshape(sd, random) {
    const name = pick([...sd.keys()], random);
    const shape = randomShape(random);
    sd.set(name, floats(shape, random));
    return `reshape ${name} to [${shape.join(', ')}]`;
  },
  toInt64(sd, random) {
    const name = pick([...sd.keys()], random);
    const { shape } = sd.get(name)!;
    sd.set(name, { dtype: 'int64', shape: [...shape], data: BigInt64Array.from({ length: elements(shape) }, () => BigInt(Math.floor((random() - 0.5) * 100))) });
    return `int64 ${name}`;
  },
  scramble(sd, random) {
    // Buffers first: indices, offsets and masks are read as values, not just shapes.
    const names = [...sd.keys()];
    const buffers = names.filter((n) => /(index|rpe_biases|mask|temperature|running_var)/.test(n));
    const name = pick(buffers.length > 0 && random() < 0.7 ? buffers : names, random);
    const entry = sd.get(name)!;
    const wild = [0, -1, 1, 1e9, -1e9, Number.NaN, 0.5, 3];
    const data =
      entry.data instanceof BigInt64Array
        ? BigInt64Array.from(entry.data, (v) => (random() < 0.2 ? BigInt(Math.trunc(pick(wild.filter(Number.isFinite), random))) : v))
        : Float32Array.from(entry.data as ArrayLike<number>, (v) => (random() < 0.2 ? pick(wild, random) : v));
    sd.set(name, { ...entry, data });
    return `scramble ${name}`;
  },
};

for (const [dir, file] of fixtures) {
  describe(`${dir}/${file}`, () => {
    it(`${ITERATIONS} structural mutations: a graph or a typed error`, () => {
      const original = readCheckpoint(new Uint8Array(readFileSync(join(repoRoot, 'packages/models/test/fixtures', dir, file)))).stateDict;
      // The unmutated checkpoint converts: the mutations start from a valid state dict.
      expect(buildGraphFromStateDict(original).onnx.length).toBeGreaterThan(0);
      const random = prng([...file].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) >>> 0);
      const untyped: string[] = [];
      let accepted = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const sd: StateDict = new Map(original);
        const applied = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(Object.values(mutations), random)(sd, random));
        try {
          buildGraphFromStateDict(sd);
          accepted++;
        } catch (error) {
          if (!isSuperresError(error)) untyped.push(`iteration ${i} (${applied.join('; ')}): ${(error as Error).name}: ${(error as Error).message}`);
        }
      }
      console.log(`${dir}/${file}: ${accepted} of ${ITERATIONS} mutated state dicts still convert`);
      expect(untyped).toEqual([]);
    }, 300_000);
  });
}
