// ParseNet converted by superres against our PyTorch reference (tools/reference/parsenet_reference.py,
// its output committed): the real configuration (in_size 512) with formula weights (too large to
// commit; test/support/formula-weights.ts rebuilds them), mask logits within a relative error of 1e-3.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { buildParseNetOnnx } from '../src/faces/parsenet-graph.js';
import { formulaStateDict } from './support/formula-weights.js';

describe('ParseNet (formula weights) against the PyTorch reference', () => {
  it('gives the reference mask logits within a relative error of 1e-3', async () => {
    const ref = JSON.parse(readFileSync(new URL('./fixtures/reference/parsenet/formula.json', import.meta.url), 'utf8')) as {
      size: number;
      tensors: [string, number[]][];
      maskShape: number[];
      mask: string;
    };
    const { onnx, hyper } = buildParseNetOnnx(formulaStateDict(ref.tensors));
    expect(hyper).toEqual({ downBlocks: 4, bodyBlocks: 10, upBlocks: 4, classes: 19 });
    const want = new Float32Array(new Uint8Array(Buffer.from(ref.mask, 'base64')).buffer);
    const n = 3 * ref.size * ref.size;
    const image = new Float32Array(n);
    for (let i = 0; i < n; i++) image[i] = Math.sin(0.37 * i);
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 2 });
    try {
      const out = await session.run({ image: new ort.Tensor('float32', image, [1, 3, ref.size, ref.size]) });
      expect(out.mask!.dims).toEqual(ref.maskShape);
      const got = out.mask!.data as Float32Array;
      let scale = 0;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]!));
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      }
      expect(worst / scale, `max error ${worst} against max value ${scale}`).toBeLessThanOrEqual(1e-3);
    } finally {
      await session.release();
    }
  });
});
