// GFPGANv1Clean converted by superres against our PyTorch reference (tools/reference/gfpgan_reference.py,
// its output committed), with formula weights (the released files are 348 MB; test/support/
// formula-weights.ts rebuilds the same weights): a small configuration (out_size 32, channel
// multiplier 1) and the released one (out_size 512, channel multiplier 2), the restored image
// within a relative error of 1e-3 (the 512 one sampled at every 8th pixel).
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildGfpganOnnx } from '../src/faces/gfpgan-graph.js';
import { formulaStateDict } from './support/formula-weights.js';

interface Reference {
  outSize: number;
  step: number;
  tensors: [string, number[]][];
  sampledShape: number[];
  image: string;
}

describe('GFPGANv1Clean (formula weights) against the PyTorch reference', () => {
  for (const size of [32, 512]) {
    it(`out_size ${size}: the restored image within a relative error of 1e-3`, async () => {
      const ref = JSON.parse(readFileSync(new URL(`./fixtures/reference/gfpgan/formula-${size}.json`, import.meta.url), 'utf8')) as Reference;
      const { onnx, hyper } = buildGfpganOnnx(formulaStateDict(ref.tensors));
      expect(hyper).toEqual({ outSize: size, styleDim: 512, numLatent: 2 * Math.log2(size) - 2 });
      const face = new Float32Array(3 * size * size);
      for (let i = 0; i < face.length; i++) face[i] = Math.sin(0.37 * i);
      const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 2 });
      try {
        const out = await session.run({ face: new ort.Tensor('float32', face, [1, 3, size, size]) });
        const got = out.restored!.data as Float32Array;
        const want = new Float32Array(new Uint8Array(Buffer.from(ref.image, 'base64')).buffer);
        const [, channels, rows, cols] = ref.sampledShape as [number, number, number, number];
        let scale = 0;
        let worst = 0;
        for (let c = 0; c < channels; c++) {
          for (let y = 0; y < rows; y++) {
            for (let x = 0; x < cols; x++) {
              const w = want[(c * rows + y) * cols + x]!;
              const g = got[(c * size + y * ref.step) * size + x * ref.step]!;
              scale = Math.max(scale, Math.abs(w));
              worst = Math.max(worst, Math.abs(g - w));
            }
          }
        }
        expect(worst / scale, `max error ${worst} against max value ${scale}`).toBeLessThanOrEqual(1e-3);
      } finally {
        await session.release();
      }
    }, 600_000); // 26 s alone at 512; a bound for a loaded machine.
  }
});
