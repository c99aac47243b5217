// The paste-back mask (core's faceMaskFromParsing) against facexlib's steps run with OpenCV
// (tools/reference/face_mask_reference.py; sampled output committed): argmax, the face classes,
// two 101x101 Gaussian blurs of sigma 11, the zeroed frame, within 1e-9.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { FFHQ_TEMPLATE_512, blendFaces, estimateSimilarityLmeds, faceMaskFromParsing, gaussianKernel, pasteFaces, warpAffine, warpAffineLinearPlane, type Affine, type Image } from '@superres/core';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';

const reference = JSON.parse(readFileSync(new URL('./fixtures/reference/face-mask/mask.json', import.meta.url), 'utf8')) as {
  size: number;
  step: number;
  sum: number;
  sampled: number[];
};

/** The reference's logits: 19 smooth waves, computed in double and stored as float32. */
function formulaLogits(size: number, classes: number): Float32Array {
  const out = new Float32Array(classes * size * size);
  for (let c = 0; c < classes; c++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) out[(c * size + y) * size + x] = Math.sin(x * (0.011 + 0.0013 * c) + y * (0.007 + 0.0021 * c) + 1.7 * c);
    }
  }
  return out;
}

describe('faceMaskFromParsing against OpenCV', () => {
  it('gives the reference mask within 1e-9', () => {
    const { size, step } = reference;
    const mask = faceMaskFromParsing(formulaLogits(size, 19), 19, size);
    let worst = 0;
    let k = 0;
    for (let y = 0; y < size; y += step) {
      for (let x = 0; x < size; x += step) worst = Math.max(worst, Math.abs(mask[y * size + x]! - reference.sampled[k++]!));
    }
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(mask.reduce((a, b) => a + b, 0) - reference.sum)).toBeLessThan(1e-6);
    expect(mask[5 * size + 200]).toBe(0); // inside the zeroed frame
  });

  it('uses a normalised Gaussian kernel', () => {
    const k = gaussianKernel(101, 11);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(k[50]).toBeGreaterThan(k[49]!);
    expect(k[0]).toBeCloseTo(k[100]!, 15);
  });
});

describe('warpAffineLinearPlane against OpenCV', () => {
  it('warps the mask back as the paste-back does (flags=3: bilinear, zero border) within 1e-9', () => {
    const warp = JSON.parse(readFileSync(new URL('./fixtures/reference/face-mask/warp.json', import.meta.url), 'utf8')) as {
      matrix: number[];
      width: number;
      height: number;
      step: number;
      sum: number;
      sampled: number[];
    };
    const mask = faceMaskFromParsing(formulaLogits(512, 19), 19, 512);
    const out = warpAffineLinearPlane(mask, 512, 512, warp.matrix as unknown as Affine, warp.width, warp.height);
    let worst = 0;
    let k = 0;
    for (let y = 0; y < warp.height; y += warp.step) {
      for (let x = 0; x < warp.width; x += warp.step) {
        const e = Math.abs(out[y * warp.width + x]! - warp.sampled[k]!);
        k++;
        worst = Math.max(worst, e);
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(out.reduce((a, b) => a + b, 0) - warp.sum)).toBeLessThan(1e-6);
  });
});

const photo = needsFixture('pasteFaces against facexlib with OpenCV', 'images', 'faces', 'whole', 'Blake_Lively.jpg');

/**
 * The paste references' case: Blake_Lively.jpg's two faces aligned (landmarks -> LMEDS -> crop;
 * the crops stand for restored faces) and a formula background of the upscaled size.
 */
async function blakeCase(width: number, height: number) {
  const align = JSON.parse(readFileSync(new URL('./fixtures/reference/face-align/lmeds.json', import.meta.url), 'utf8')) as {
    cases: { name: string; landmarks: [number, number][] }[];
  };
  const { data, info } = await sharp(fixture('images', 'faces', 'whole', 'Blake_Lively.jpg')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const rgb: Image = { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
  const background: Image = { width, height, channels: 3, bitDepth: 8, data: new Uint8Array(width * height * 3) };
  for (let i = 0; i < background.data.length; i++) background.data[i] = Math.floor(127.5 + 127.5 * Math.sin(0.37 * i));
  const crops = ['Blake_Lively.jpg face 0', 'Blake_Lively.jpg face 1'].map((name) => {
    const affine = estimateSimilarityLmeds(align.cases.find((c) => c.name === name)!.landmarks, FFHQ_TEMPLATE_512)!.matrix;
    return { face: warpAffine(rgb, affine, 512, 512, { borderValue: [132, 133, 135] }), affine };
  });
  return { background, crops };
}

describe.skipIf(photo.missing)(photo.title, () => {
  it('pastes two faces at upscale 2: the blend within 1e-6 per row, the 8-bit image exact', async () => {
    const paste = JSON.parse(readFileSync(new URL('./fixtures/reference/face-mask/paste.json', import.meta.url), 'utf8')) as {
      upscale: number;
      width: number;
      height: number;
      rowSums: number[];
      sha256: string;
    };
    const { background, crops } = await blakeCase(paste.width, paste.height);
    const mask = faceMaskFromParsing(formulaLogits(512, 19), 19, 512);
    const faces = crops.map((crop) => ({ ...crop, mask }));
    // The blend holds only the faces' part of the output; each row's sum adds the background around it.
    const { region, values } = blendFaces(background, faces, paste.upscale);
    const rowWidth = paste.width * 3;
    const rowSum = (y: number) => {
      let sum = 0;
      for (let i = 0; i < rowWidth; i++) sum += background.data[y * rowWidth + i]!;
      if (!region || y < region.y || y >= region.y + region.height) return sum;
      const start = (y * paste.width + region.x) * 3;
      for (let i = 0; i < region.width * 3; i++) sum -= background.data[start + i]!;
      return sum + values.subarray((y - region.y) * region.width * 3, (y - region.y + 1) * region.width * 3).reduce((a, b) => a + b, 0);
    };
    const worst = Math.max(...paste.rowSums.map((want, y) => Math.abs(rowSum(y) - want)));
    expect(worst).toBeLessThan(1e-6);
    const out = pasteFaces(background, faces, paste.upscale);
    expect(createHash('sha256').update(out.data).digest('hex')).toBe(paste.sha256);
  });
});

describe.skipIf(photo.missing)('pasteFaces without parsing (the plain mask) against facexlib with OpenCV', () => {
  // Upstream runs this branch in float32 (a float32 square, erosions, blur and blend); superres in
  // double: the blend's row sums agree within 1e-6 relative (measured 2.6e-8) and the 8-bit
  // image's row and column sums within 0.005 per value (measured 0.0005: a few values rounded the
  // other way).
  const reference = JSON.parse(readFileSync(new URL('./fixtures/reference/face-mask/paste-plain.json', import.meta.url), 'utf8')) as {
    cases: { upscale: number; width: number; height: number; rowSums: number[]; roundedRowSums: number[]; roundedColSums: number[] }[];
  };
  it.each(reference.cases.map((c) => [c.upscale, c] as const))('pastes two faces at upscale %s', async (_upscale, paste) => {
    const { background, crops: faces } = await blakeCase(paste.width, paste.height);
    const { region, values } = blendFaces(background, faces, paste.upscale);
    expect(region).toBeDefined();
    const r = region!;
    const rowWidth = paste.width * 3;
    let worstRow = 0;
    for (let y = 0; y < paste.height; y++) {
      let sum = 0;
      for (let i = 0; i < rowWidth; i++) sum += background.data[y * rowWidth + i]!;
      if (y >= r.y && y < r.y + r.height) {
        const start = (y * paste.width + r.x) * 3;
        for (let i = 0; i < r.width * 3; i++) sum += values[(y - r.y) * r.width * 3 + i]! - background.data[start + i]!;
      }
      worstRow = Math.max(worstRow, Math.abs(sum - paste.rowSums[y]!) / paste.rowSums[y]!);
    }
    expect(worstRow, `worst relative row-sum difference ${worstRow}`).toBeLessThan(1e-6);
    const out = pasteFaces(background, faces, paste.upscale);
    const rows = new Float64Array(paste.height);
    const cols = new Float64Array(paste.width);
    for (let y = 0; y < paste.height; y++) {
      for (let x = 0; x < paste.width; x++) {
        for (let c = 0; c < 3; c++) {
          const v = out.data[(y * paste.width + x) * 3 + c]!;
          rows[y]! += v;
          cols[x]! += v;
        }
      }
    }
    const rowOff = Math.max(...paste.roundedRowSums.map((want, y) => Math.abs(rows[y]! - want) / (3 * paste.width)));
    const colOff = Math.max(...paste.roundedColSums.map((want, x) => Math.abs(cols[x]! - want) / (3 * paste.height)));
    expect(rowOff, `8-bit rows: worst ${rowOff} per value`).toBeLessThan(0.005);
    expect(colOff, `8-bit columns: worst ${colOff} per value`).toBeLessThan(0.005);
    // The faces did land: the output differs from the background over a large area.
    let changed = 0;
    for (let i = 0; i < out.data.length; i++) if (out.data[i] !== background.data[i]) changed++;
    expect(changed).toBeGreaterThan(out.data.length / 10);
  });
});
