// The similarity transform facexlib aligns faces with (cv2.estimateAffinePartial2D, LMEDS)
// against OpenCV itself (tools/reference/face_align_reference.py, Debian's python3-opencv 4.6;
// output committed): the landmarks RetinaFace finds on the fixture photos and seeded synthetic
// sets, some with one or two landmarks thrown far away (which LMEDS must leave out).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FFHQ_TEMPLATE_512, estimateSimilarityLmeds, invertAffine, leastSquaresSimilarity, type Point } from '@superres/core';

const reference = JSON.parse(readFileSync(new URL('./fixtures/reference/face-align/lmeds.json', import.meta.url), 'utf8')) as {
  template: number[][];
  cases: { name: string; landmarks: [number, number][]; matrix: number[][]; inliers: number[] }[];
};

describe('estimateSimilarityLmeds against OpenCV', () => {
  it('uses the same template', () => {
    expect(FFHQ_TEMPLATE_512).toEqual(reference.template);
  });

  it.each(reference.cases.map((c) => [c.name, c] as const))('%s: the same inliers and matrix', (_name, c) => {
    const estimate = estimateSimilarityLmeds(c.landmarks, FFHQ_TEMPLATE_512)!;
    expect(estimate.inliers.map(Number)).toEqual(c.inliers);
    const want = c.matrix.flat();
    // a and b within 1e-6 relative; translations (hundreds of pixels) within 1e-4 px.
    estimate.matrix.forEach((v, i) => expect(Math.abs(v - want[i]!), `entry ${i}`).toBeLessThanOrEqual(i % 3 === 2 ? 1e-4 : 1e-6 * Math.abs(want[0]!) + 1e-9));
  });

  it('differs from a plain least-squares fit where a landmark is an outlier', () => {
    const outlier = reference.cases.find((c) => c.inliers.includes(0))!;
    const plain = leastSquaresSimilarity(outlier.landmarks, FFHQ_TEMPLATE_512);
    expect(Math.abs(plain[2] - outlier.matrix[0]![2]!)).toBeGreaterThan(1e-2);
  });

  it('inverts an affine transform', () => {
    const m = estimateSimilarityLmeds(reference.cases[0]!.landmarks, FFHQ_TEMPLATE_512)!.matrix;
    const inv = invertAffine(m);
    const apply = (t: readonly number[], [x, y]: Point): Point => [t[0]! * x + t[1]! * y + t[2]!, t[3]! * x + t[4]! * y + t[5]!];
    const p: Point = [123.4, 56.7];
    const back = apply(inv, apply(m, p));
    expect(back[0]).toBeCloseTo(p[0], 9);
    expect(back[1]).toBeCloseTo(p[1], 9);
  });
});
