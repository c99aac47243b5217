// Bounded fuzz: real images from the fixtures, mutated with a fixed seed. Every mutation must
// decode or end in a typed SuperresError (BadImageError, ImageTooLargeError): no other
// exception, no crash of the process, no hang (the test's timeout), memory within a stated bound.
import { readFileSync } from 'node:fs';
import { isSuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { mutate, prng } from '../../../test-support/mutate.js';
import { configureImageIo, decodeImage } from './index.js';

const ITERATIONS = 100;
const images = [
  { file: 'OST_009.png', seed: 3 },
  { file: '0014.jpg', seed: 5 },
  { file: 'tree_alpha_16bit.png', seed: 13 },
  { file: 'wolf_gray.jpg', seed: 17 },
];

configureImageIo({ cache: false });

for (const { file, seed } of images) {
  const { title, missing } = needsFixture(`fuzz: decoding ${file}`, 'images', 'realesrgan', file);
  describe.skipIf(missing)(title, () => {
    it(`${ITERATIONS} mutations: an image or a typed error, memory bounded`, async () => {
      const original = new Uint8Array(readFileSync(fixture('images', 'realesrgan', file)));
      // Headers and chunk tables live at the start; PNG's IEND and JPEG's EOI at the end.
      const hot = [
        [0, 4096],
        [Math.max(0, original.length - 1024), original.length],
      ] as const;
      const random = prng(seed);
      const untyped: string[] = [];
      let decoded = 0;
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      for (let i = 0; i < ITERATIONS; i++) {
        try {
          const image = await decodeImage(mutate(original, random, hot), { maxPixels: 16 * 2 ** 20 });
          expect(image.data.length).toBe(image.width * image.height * image.channels);
          decoded++;
        } catch (error) {
          if (!isSuperresError(error)) untyped.push(`seed ${seed} iteration ${i}: ${(error as Error)?.name}: ${(error as Error)?.message}`);
        }
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(untyped).toEqual([]);
      // PNG checks a CRC per chunk, so most of its mutations are refused; JPEG decodes many.
      if (file.endsWith('.jpg')) expect(decoded).toBeGreaterThan(0);
      // At most 16 Mpx x 4 channels x 2 bytes decoded at once, with libvips' working copies.
      expect(peak - baseline).toBeLessThan(512 * 2 ** 20);
    });
  });
}
