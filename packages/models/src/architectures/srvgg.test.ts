import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { random } from '../test-support/random.js';
import type { StateDict } from '../checkpoint/types.js';
import { createNodeBackend } from '../node/backend.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from '../onnx/test-support/onnx-checker.js';
import {
  type SrvggActivation,
  type SrvggHyperparameters,
  buildSrvggOnnx,
  detectSrvgg,
  srvggHyperparameters,
} from './srvgg.js';

// ---- fixtures: random SRVGG state dicts and a plain-JS forward pass ----------------------------

type Spec = Omit<SrvggHyperparameters, 'activation'> & { prelu: boolean };

function makeStateDict(spec: Spec, seed = 1): StateDict {
  const rand = random(seed);
  const sd: StateDict = new Map();
  const put = (name: string, shape: number[], scale = 0.5) => {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(name, { dtype: 'float32', shape, data: Float32Array.from({ length: n }, () => rand() * scale) });
  };
  const last = 2 * (spec.numConv + 1);
  for (let i = 0; i <= last; i += 2) {
    const out = i === last ? spec.numOutCh * spec.upscale ** 2 : spec.numFeat;
    put(`body.${i}.weight`, [out, i === 0 ? spec.numInCh : spec.numFeat, 3, 3]);
    put(`body.${i}.bias`, [out], 0.2);
    if (spec.prelu && i < last) put(`body.${i + 1}.weight`, [spec.numFeat], 0.5);
  }
  return sd;
}

interface Plane {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

function conv3x3(x: Plane, weight: Float32Array, bias: Float32Array, outC: number): Plane {
  const { c, h, w } = x;
  const out = new Float32Array(outC * h * w);
  for (let o = 0; o < outC; o++) {
    for (let yy = 0; yy < h; yy++) {
      for (let xx = 0; xx < w; xx++) {
        let sum = bias[o]!;
        for (let i = 0; i < c; i++) {
          for (let ky = 0; ky < 3; ky++) {
            const sy = yy + ky - 1;
            if (sy < 0 || sy >= h) continue;
            for (let kx = 0; kx < 3; kx++) {
              const sx = xx + kx - 1;
              if (sx < 0 || sx >= w) continue;
              sum += weight[((o * c + i) * 3 + ky) * 3 + kx]! * x.data[(i * h + sy) * w + sx]!;
            }
          }
        }
        out[(o * h + yy) * w + xx] = sum;
      }
    }
  }
  return { c: outC, h, w, data: out };
}

function activate(x: Plane, activation: SrvggActivation, slope: Float32Array | undefined): Plane {
  const plane = x.h * x.w;
  const data = x.data.map((v, idx) => {
    if (v >= 0) return v;
    if (activation === 'relu') return 0;
    if (activation === 'leakyrelu') return v * 0.1;
    return v * slope![Math.floor(idx / plane)]!;
  });
  return { ...x, data };
}

/** torch pixel_shuffle: out[c, h*r+i, w*r+j] = in[c*r*r + i*r + j, h, w]. */
function pixelShuffle(x: Plane, r: number): Plane {
  const c = x.c / (r * r);
  const H = x.h * r;
  const W = x.w * r;
  const out = new Float32Array(c * H * W);
  for (let ch = 0; ch < c; ch++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++)
        for (let yy = 0; yy < x.h; yy++)
          for (let xx = 0; xx < x.w; xx++)
            out[(ch * H + yy * r + i) * W + xx * r + j] = x.data[((ch * r * r + i * r + j) * x.h + yy) * x.w + xx]!;
  return { c, h: H, w: W, data: out };
}

/** out + nearest-upsampled input, with PyTorch's channel broadcasting. */
function addNearest(out: Plane, input: Plane, r: number): Plane {
  const c = Math.max(out.c, input.c);
  const data = new Float32Array(c * out.h * out.w);
  for (let ch = 0; ch < c; ch++)
    for (let yy = 0; yy < out.h; yy++)
      for (let xx = 0; xx < out.w; xx++) {
        const o = out.data[((out.c === 1 ? 0 : ch) * out.h + yy) * out.w + xx]!;
        const b = input.data[((input.c === 1 ? 0 : ch) * input.h + Math.floor(yy / r)) * input.w + Math.floor(xx / r)]!;
        data[(ch * out.h + yy) * out.w + xx] = o + b;
      }
  return { c, h: out.h, w: out.w, data };
}

function referenceForward(sd: StateDict, hyper: SrvggHyperparameters, input: Plane): Plane {
  const f32 = (name: string) => sd.get(name)!.data as Float32Array;
  let x = input;
  const last = 2 * (hyper.numConv + 1);
  for (let i = 0; i <= last; i += 2) {
    const outC = sd.get(`body.${i}.weight`)!.shape[0]!;
    x = conv3x3(x, f32(`body.${i}.weight`), f32(`body.${i}.bias`), outC);
    if (i < last) x = activate(x, hyper.activation, hyper.activation === 'prelu' ? f32(`body.${i + 1}.weight`) : undefined);
  }
  return addNearest(pixelShuffle(x, hyper.upscale), input, hyper.upscale);
}

// ---- python onnx checker ---------------------------------------------------------------------

function checkModel(bytes: Uint8Array) {
  return runOnnxChecker(bytes, 'print(json.dumps({p.key: p.value for p in m.metadata_props}))');
}

const base = { numInCh: 3, numOutCh: 3, numFeat: 4, numConv: 2, upscale: 4 };

// ---- tests -----------------------------------------------------------------------------------

describe('SRVGGNetCompact hyperparameters', () => {
  it('reads every hyperparameter from a PReLU checkpoint', () => {
    const sd = makeStateDict({ ...base, numFeat: 8, numConv: 5, upscale: 2, prelu: true });
    expect(srvggHyperparameters(sd)).toEqual({
      numInCh: 3,
      numOutCh: 3,
      numFeat: 8,
      numConv: 5,
      upscale: 2,
      activation: 'prelu',
    });
    expect(detectSrvgg(sd)).toEqual(srvggHyperparameters(sd));
  });

  it('handles num_conv 0, one channel and the out != in fallbacks', () => {
    expect(srvggHyperparameters(makeStateDict({ ...base, numConv: 0, prelu: true })).numConv).toBe(0);
    const gray = makeStateDict({ ...base, numInCh: 1, numOutCh: 1, upscale: 3, prelu: true });
    expect(srvggHyperparameters(gray)).toMatchObject({ numInCh: 1, numOutCh: 1, upscale: 3 });
    // 1 -> 3 channels x4: 48 output channels are 3 x 4^2 (1 x 48 is not square).
    const colorize = makeStateDict({ ...base, numInCh: 1, numOutCh: 3, upscale: 4, prelu: true });
    expect(srvggHyperparameters(colorize)).toMatchObject({ numInCh: 1, numOutCh: 3, upscale: 4 });
    // 16 channels from 1 input: ambiguous (1 x 4^2 or 4 x 2^2); the input's count wins, overrides decide.
    const ambiguous = makeStateDict({ ...base, numInCh: 1, numOutCh: 4, upscale: 2, prelu: true });
    expect(srvggHyperparameters(ambiguous)).toMatchObject({ numOutCh: 1, upscale: 4 });
    expect(srvggHyperparameters(ambiguous, { numOutCh: 4 })).toMatchObject({ numOutCh: 4, upscale: 2 });
    expect(srvggHyperparameters(ambiguous, { upscale: 4 })).toMatchObject({ numOutCh: 1, upscale: 4 });
  });

  it('rejects output channels that cannot be added to the input channels', () => {
    // 16 channels from a 3-channel input fit only 4 x 2^2; 4 channels do not broadcast onto 3.
    const sd = makeStateDict({ ...base, numInCh: 3, numOutCh: 4, upscale: 2, prelu: true });
    expect(() => srvggHyperparameters(sd)).toThrow(/4 output channels cannot be added to 3 input channels/);
  });

  it('needs the activation option when there are no PReLU weights', () => {
    const sd = makeStateDict({ ...base, prelu: false });
    expect(() => srvggHyperparameters(sd)).toThrow(UnsupportedArchitectureError);
    expect(() => detectSrvgg(sd)).toThrow(/activation/);
    expect(srvggHyperparameters(sd, { activation: 'relu' }).activation).toBe('relu');
    expect(detectSrvgg(sd, { activation: 'leakyrelu' })?.activation).toBe('leakyrelu');
    const prelu = makeStateDict({ ...base, prelu: true });
    expect(() => srvggHyperparameters(prelu, { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => srvggHyperparameters(prelu, { activation: 'gelu' as SrvggActivation })).toThrow(/one of prelu, relu, leakyrelu/);
    expect(() => srvggHyperparameters(prelu, { upscale: 1.5 })).toThrow(/upscale must be a positive integer/);
  });

  it('detects only the SRVGG key layout', () => {
    const rrdb: StateDict = new Map([
      ['conv_first.weight', { dtype: 'float32', shape: [64, 3, 3, 3], data: new Float32Array(64 * 27) }],
    ]);
    expect(detectSrvgg(rrdb)).toBeUndefined();
    expect(detectSrvgg(new Map())).toBeUndefined();
    const mixed = makeStateDict({ ...base, prelu: true });
    mixed.set('conv_up1.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    expect(detectSrvgg(mixed)).toBeUndefined();
    expect(() => srvggHyperparameters(mixed)).toThrow(UnsupportedArchitectureError);
    expect(() => srvggHyperparameters(mixed)).toThrow(/conv_up1\.weight/);
  });

  it('names a missing tensor with its expected shape', () => {
    const sd = makeStateDict({ ...base, prelu: true });
    sd.delete('body.3.weight');
    expect(() => srvggHyperparameters(sd)).toThrow(BadCheckpointError);
    expect(() => srvggHyperparameters(sd)).toThrow(/missing tensor body\.3\.weight \(expected shape \[4\]\)/);
    const noBias = makeStateDict({ ...base, prelu: true });
    noBias.delete('body.4.bias');
    expect(() => srvggHyperparameters(noBias)).toThrow(/missing tensor body\.4\.bias/);
  });

  it('names a tensor with the wrong shape, expected and actual', () => {
    const sd = makeStateDict({ ...base, prelu: true });
    sd.set('body.4.weight', { dtype: 'float32', shape: [4, 5, 3, 3], data: new Float32Array(180) });
    expect(() => srvggHyperparameters(sd)).toThrow(
      /tensor body\.4\.weight has shape \[4, 5, 3, 3\], expected \[4, 4, 3, 3\]/,
    );
    const first = makeStateDict({ ...base, prelu: true });
    first.set('body.0.weight', { dtype: 'float32', shape: [4, 3, 5, 5], data: new Float32Array(300) });
    expect(() => srvggHyperparameters(first)).toThrow(/body\.0\.weight has shape \[4, 3, 5, 5\]/);
    const ints = makeStateDict({ ...base, prelu: true });
    ints.set('body.2.bias', { dtype: 'int64', shape: [4], data: new BigInt64Array(4) });
    expect(() => srvggHyperparameters(ints)).toThrow(/body\.2\.bias holds int64/);
  });

  it('reports gaps in the body indices and stray tensors', () => {
    const gap = makeStateDict({ ...base, prelu: true });
    gap.delete('body.2.weight');
    gap.delete('body.2.bias');
    expect(() => srvggHyperparameters(gap)).toThrow(/missing tensor body\.2\.weight/);
    const stray = makeStateDict({ ...base, prelu: false });
    stray.set('body.3.weight', { dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expect(() => srvggHyperparameters(stray, { activation: 'relu' })).toThrow(/unexpected tensors body\.3\.weight/);
    const oddLast = makeStateDict({ ...base, prelu: true });
    oddLast.set('body.7.weight', { dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expect(() => srvggHyperparameters(oddLast)).toThrow(/highest body index is 7/);
  });

  it('rejects a last convolution whose channels are not out_ch x integer^2', () => {
    const sd = makeStateDict({ ...base, prelu: true });
    sd.set('body.6.weight', { dtype: 'float32', shape: [20, 4, 3, 3], data: new Float32Array(720) });
    sd.set('body.6.bias', { dtype: 'float32', shape: [20], data: new Float32Array(20) });
    expect(() => srvggHyperparameters(sd)).toThrow(BadCheckpointError);
    expect(() => srvggHyperparameters(sd)).toThrow(/body\.6\.weight has 20 output channels/);
    expect(() => srvggHyperparameters(makeStateDict({ ...base, prelu: true }), { upscale: 3 })).toThrow(/with upscale 3/);
  });
});

describe.skipIf(!hasOnnxChecker)(`SRVGGNetCompact ONNX validity (python onnx checker${hasOnnxChecker ? '' : `; skipped: ${noCheckerReason}`})`, () => {
  for (const [activation, prelu] of [
    ['prelu', true],
    ['relu', false],
    ['leakyrelu', false],
  ] as const) {
    it(`passes check_model(full_check=True) with ${activation}`, () => {
      const sd = makeStateDict({ ...base, prelu }, 7);
      const { onnx, hyper, geometry } = buildSrvggOnnx(sd, prelu ? {} : { activation });
      // Widest stage: conv_last's 3 x 4^2 channels before the shuffle: 4 B x (5 maps x 48 + 3 in + 48 out).
      expect(geometry).toEqual({ scale: 4, alignment: 1, receptiveRadius: 4, workingBytesPerPixel: 4 * (5 * 48 + 3 + 48) });
      const r = checkModel(onnx);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        architecture: 'SRVGGNetCompact',
        hyperparameters: JSON.stringify(hyper),
        scale: '4',
        alignment: '1',
        receptive_radius: '4',
        converter_version: CONVERTER_VERSION,
      });
    });
  }
});

describe('SRVGGNetCompact numerics on onnxruntime-node against a JS reference', () => {
  const backend = createNodeBackend({ threads: 1 });
  const cases: [SrvggActivation, number, number, number][] = [];
  for (const activation of ['prelu', 'relu', 'leakyrelu'] as const) {
    for (const upscale of [4, 2]) cases.push([activation, upscale, 3, 3]);
  }
  cases.push(['prelu', 3, 1, 1], ['prelu', 4, 1, 3], ['leakyrelu', 1, 3, 3]);

  for (const [activation, upscale, numInCh, numOutCh] of cases) {
    it(`${activation} x${upscale}, ${numInCh} -> ${numOutCh} channels`, async () => {
      const hyper: SrvggHyperparameters = { numInCh, numOutCh, numFeat: 4, numConv: 2, upscale, activation };
      const sd = makeStateDict({ ...hyper, prelu: activation === 'prelu' }, upscale * 10 + numInCh);
      const built = buildSrvggOnnx(sd, activation === 'prelu' ? {} : { activation });
      expect(built.hyper).toEqual(hyper);

      const rand = random(99);
      const [h, w] = [5, 7];
      const input: Plane = { c: numInCh, h, w, data: Float32Array.from({ length: numInCh * h * w }, () => rand() + 0.5) };
      const expected = referenceForward(sd, hyper, input);

      const session = await backend.createSession(built.onnx);
      try {
        const out = await session.run({ data: input.data, dims: [1, numInCh, h, w] });
        expect(out.dims).toEqual([1, expected.c, h * upscale, w * upscale]);
        expect(out.data).toBeInstanceOf(Float32Array);
        let worst = 0;
        for (let i = 0; i < expected.data.length; i++) {
          worst = Math.max(worst, Math.abs(out.data[i]! - expected.data[i]!));
        }
        expect(worst).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });
  }

  it('runs a batch of two with dynamic N, H, W', async () => {
    const sd = makeStateDict({ ...base, upscale: 2, prelu: true }, 5);
    const session = await backend.createSession(buildSrvggOnnx(sd).onnx);
    const hyper = srvggHyperparameters(sd);
    const rand = random(3);
    const one = () => ({ c: 3, h: 4, w: 3, data: Float32Array.from({ length: 36 }, () => rand()) });
    const [a, b] = [one(), one()];
    const batch = new Float32Array(72);
    batch.set(a.data, 0);
    batch.set(b.data, 36);
    const out = await session.run({ data: batch, dims: [2, 3, 4, 3] });
    expect(out.dims).toEqual([2, 3, 8, 6]);
    const expected = [...referenceForward(sd, hyper, a).data, ...referenceForward(sd, hyper, b).data];
    expect(Math.max(...expected.map((v, i) => Math.abs(v - out.data[i]!)))).toBeLessThan(1e-4);
    await session.release();
  });
});
