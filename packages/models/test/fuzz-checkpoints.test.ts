// Bounded fuzz: the fixtures' real checkpoints, mutated with a fixed seed. Every mutation must
// end in a result or a typed SuperresError: no other exception, no hang (the test's
// timeout), and memory within a stated bound.
import { readFileSync } from 'node:fs';
import { isSuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { mutate, prng } from '../../../test-support/mutate.js';
import { readCheckpoint } from '../src/checkpoint/read-checkpoint.js';
import { convertCheckpoint } from '../src/convert/convert-checkpoint.js';

const ITERATIONS = 300;
// The upscaler goes all the way to an ONNX graph; the face detector (not an upscaler) is read.
const cases = [
  { name: 'realesr-animevideov3.pth (torch zip), converted', file: 'realesr-animevideov3.pth', seed: 7, run: (b: Uint8Array) => convertCheckpoint(b) },
  { name: 'detection_mobilenet0.25_Final.pth (legacy torch format), read', file: 'detection_mobilenet0.25_Final.pth', seed: 11, run: (b: Uint8Array) => readCheckpoint(b) },
];

for (const c of cases) {
  const { title, missing } = needsFixture(`fuzz: ${c.name}`, 'weights', c.file);
  describe.skipIf(missing)(title, () => {
    it(`${ITERATIONS} mutations: a result or a typed error, memory bounded`, () => {
      const original = new Uint8Array(readFileSync(fixture('weights', c.file)));
      // Where the structure is: the first and last 64 KiB (pickle, zip headers, central directory).
      const hot = [
        [0, 65_536],
        [Math.max(0, original.length - 65_536), original.length],
      ] as const;
      const random = prng(c.seed);
      const untyped: string[] = [];
      let accepted = 0;
      let refused = 0;
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      for (let i = 0; i < ITERATIONS; i++) {
        const bytes = mutate(original, random, hot);
        try {
          c.run(bytes);
          accepted++;
        } catch (error) {
          if (isSuperresError(error)) refused++;
          else untyped.push(`seed ${c.seed} iteration ${i}: ${(error as Error)?.name}: ${(error as Error)?.message}`);
        }
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(untyped).toEqual([]);
      expect(accepted + refused).toBe(ITERATIONS);
      // Both ways were taken: some mutations only touch weights, others break the structure.
      expect(accepted).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
      // The checkpoint byte budget: 4x the file plus 16 MiB per read, plus the graph built from it.
      expect(peak - baseline).toBeLessThan(8 * original.length + 256 * 2 ** 20);
    });
  });
}
