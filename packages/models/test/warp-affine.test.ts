// warpAffine (core) against cv2.warpAffine itself (tools/reference/warp_affine_reference.py,
// python3-opencv 4.6; sha256 and row sums committed): face crops to the 512x512 template with a
// constant border, and a crop warped back by the scaled inverse matrix. Bit for bit.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { warpAffine, type Affine, type Image } from '@superres/core';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';

const reference = JSON.parse(readFileSync(new URL('./fixtures/reference/face-align/warp.json', import.meta.url), 'utf8')) as {
  cases: { name: string; image?: string; source?: string; matrix: number[]; width: number; height: number; borderValue: number[]; sha256: string; rowSums: number[] }[];
};

async function rgb(name: string): Promise<Image> {
  const { data, info } = await sharp(fixture('images', 'faces', 'whole', name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
}

const photos = needsFixture('warpAffine against OpenCV', 'images', 'faces', 'whole', '00.jpg');

describe.skipIf(photos.missing)(photos.title, () => {
  it('crops faces and warps them back exactly as OpenCV does', async () => {
    const outputs = new Map<string, Image>();
    for (const c of reference.cases) {
      const source = c.image ? await rgb(c.image) : outputs.get(c.source!)!;
      const out = warpAffine(source, c.matrix as unknown as Affine, c.width, c.height, { borderValue: c.borderValue });
      outputs.set(c.name, out);
      const bytes = out.data as Uint8Array;
      const rows = Array.from({ length: c.height }, (_, y) => bytes.subarray(y * c.width * 3, (y + 1) * c.width * 3).reduce((a, b) => a + b, 0));
      const differingRows = rows.flatMap((sum, y) => (sum === c.rowSums[y] ? [] : [y]));
      expect({ case: c.name, differingRows: differingRows.slice(0, 10) }).toEqual({ case: c.name, differingRows: [] });
      expect(createHash('sha256').update(out.data).digest('hex'), c.name).toBe(c.sha256);
    }
  });
});
