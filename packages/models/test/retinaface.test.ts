// RetinaFace converted by superres, run by ONNX Runtime and decoded in TypeScript, against our
// PyTorch reference of facexlib's detector (tools/reference/retinaface_reference.py; its outputs
// are committed). MobileNet-0.25 with the fixtures' real weights: the same faces, boxes to
// IoU >= 0.99, landmarks within 0.5 px, scores within 1e-3. ResNet-50 with formula weights (too
// large to commit): raw outputs within a relative error of 1e-3.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { readCheckpoint } from '../src/checkpoint/read-checkpoint.js';
import { decodeRetinaFace, type DetectedFace } from '../src/faces/retinaface-decode.js';
import { buildRetinaFaceOnnx } from '../src/faces/retinaface-graph.js';
import { createNodeBackend } from '../src/node/backend.js';
import { formulaImage, formulaStateDict } from './support/formula-weights.js';

interface ReferenceFace {
  box: [number, number, number, number];
  score: number;
  landmarks: number[];
}
const reference = JSON.parse(readFileSync(new URL('./fixtures/reference/retinaface/mobilenet0.25.json', import.meta.url), 'utf8')) as {
  images: { image: string; width: number; height: number; faces: ReferenceFace[] }[];
};

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

/** The image as the reference reads it: RGB (alpha dropped) to BGR planes, 0-255. */
async function bgrPlanes(path: string): Promise<{ data: Float32Array; width: number; height: number }> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const plane = info.width * info.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = data[i * info.channels + 2]!;
    out[plane + i] = data[i * info.channels + 1]!;
    out[2 * plane + i] = data[i * info.channels]!;
  }
  return { data: out, width: info.width, height: info.height };
}

const weights = needsFixture('RetinaFace MobileNet-0.25 against the PyTorch reference', 'weights', 'detection_mobilenet0.25_Final.pth');

describe.skipIf(weights.missing)(weights.title, () => {
  it('finds the reference faces in every image, boxes and landmarks matching', async () => {
    const { stateDict } = readCheckpoint(new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth'))));
    const { onnx, hyper } = buildRetinaFaceOnnx(stateDict);
    expect(hyper).toMatchObject({ backbone: 'mobilenet0.25', outChannel: 64 });
    // Through the inference workers, as the product runs every model.
    const session = await createNodeBackend({ threads: 2 }).createSession(onnx);
    try {
      for (const expected of reference.images) {
        const image = await bgrPlanes(fixture('images', 'faces', 'whole', expected.image));
        expect([image.width, image.height]).toEqual([expected.width, expected.height]);
        const result = await session.runNamed!({ image: { data: image.data, dims: [1, 3, image.height, image.width] } }, { transfer: true });
        const faces = decodeRetinaFace(
          { loc: result.loc!.data, conf: result.conf!.data, landms: result.landms!.data },
          image.width,
          image.height,
        );
        expect({ image: expected.image, faces: faces.length }).toEqual({ image: expected.image, faces: expected.faces.length });
        for (const ref of expected.faces) {
          const match = faces.reduce<DetectedFace | undefined>((best, f) => (!best || iou(f.box, ref.box) > iou(best.box, ref.box) ? f : best), undefined)!;
          expect(iou(match.box, ref.box)).toBeGreaterThanOrEqual(0.99);
          expect(Math.abs(match.score - ref.score)).toBeLessThan(1e-3);
          const worst = Math.max(...match.landmarks.flat().map((v, i) => Math.abs(v - ref.landmarks[i]!)));
          expect(worst, `${expected.image}: landmark error`).toBeLessThanOrEqual(0.5);
        }
      }
    } finally {
      await session.release();
    }
  });
});

describe('RetinaFace ResNet-50 (formula weights) against the PyTorch reference', () => {
  it('gives the reference raw outputs within a relative error of 1e-3', async () => {
    const ref = JSON.parse(readFileSync(new URL('./fixtures/reference/retinaface/resnet50-formula.json', import.meta.url), 'utf8')) as {
      width: number;
      height: number;
      tensors: [string, number[]][];
      loc: number[];
      conf: number[];
      landms: number[];
    };
    const { onnx, hyper } = buildRetinaFaceOnnx(formulaStateDict(ref.tensors));
    expect(hyper).toEqual({ backbone: 'resnet50', outChannel: 256, resnetBlocks: [3, 4, 6, 3] });
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 2 });
    try {
      const out = await session.run({ image: new ort.Tensor('float32', formulaImage(ref.width, ref.height), [1, 3, ref.height, ref.width]) });
      for (const name of ['loc', 'conf', 'landms'] as const) {
        const got = out[name]!.data as Float32Array;
        const want = ref[name];
        expect(got.length).toBe(want.length);
        const scale = Math.max(...want.map(Math.abs));
        const worst = Math.max(...want.map((w, i) => Math.abs(got[i]! - w)));
        expect(worst / scale, `${name}: max error ${worst} against max value ${scale}`).toBeLessThanOrEqual(1e-3);
      }
    } finally {
      await session.release();
    }
  });
});
