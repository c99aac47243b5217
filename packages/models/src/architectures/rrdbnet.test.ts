import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { random } from '../test-support/random.js';
import type { StateDict } from '../checkpoint/types.js';
import { createNodeBackend } from '../node/backend.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from '../onnx/test-support/onnx-checker.js';
import type { RrdbKeyLayout } from './rrdbnet-keys.js';
import { type RrdbHyperparameters, buildRrdbOnnx, detectRrdb, rrdbGeometry, rrdbHyperparameters } from './rrdbnet.js';

// ---- fixtures: random RRDBNet state dicts in each key layout ----------------------------------

interface Spec {
  layout: RrdbKeyLayout;
  numInCh: number;
  numOutCh: number;
  numFeat: number;
  numGrowCh: number;
  numBlock: number;
  /** pixel_unshuffle factor (BasicSR: 2 for x2, 4 for x1). */
  unshuffle: number;
  /** Upsampling convolutions (BasicSR: always 2). */
  numUp: number;
}

const tiny = { numInCh: 3, numOutCh: 3, numFeat: 8, numGrowCh: 4, numBlock: 1, unshuffle: 1, numUp: 2 };

/**
 * File key prefixes of every convolution, in forward order, written out from each upstream
 * module tree (not from rrdbnet-keys.ts, so that its mapping is what gets tested).
 */
function layoutKeys(spec: Spec): { prefix: string; out: number; in: number }[] {
  const { layout, numFeat: nf, numGrowCh: gc, numBlock, numUp } = spec;
  const rows: { prefix: string; out: number; in: number }[] = [];
  const firstIn = spec.numInCh * spec.unshuffle ** 2;
  const dense = (block: string, rdb: string, conv: (j: number) => string) => {
    for (let j = 1; j <= 5; j++) rows.push({ prefix: `${block}.${rdb}.${conv(j)}`, out: j < 5 ? gc : nf, in: nf + (j - 1) * gc });
  };
  if (layout === 'esrgan-old') {
    // nn.Sequential: conv, ShortcutBlock(sub = RRDBs + conv), [Upsample, conv, lrelu] x n, conv, lrelu, conv.
    rows.push({ prefix: 'model.0', out: nf, in: firstIn });
    for (let i = 0; i < numBlock; i++) for (let k = 1; k <= 3; k++) dense(`model.1.sub.${i}`, `RDB${k}`, (j) => `conv${j}.0`);
    rows.push({ prefix: `model.1.sub.${numBlock}`, out: nf, in: nf });
    let index = 1;
    for (let u = 0; u < numUp; u++) {
      rows.push({ prefix: `model.${index + 2}`, out: nf, in: nf });
      index += 3;
    }
    rows.push({ prefix: `model.${index + 1}`, out: nf, in: nf });
    rows.push({ prefix: `model.${index + 3}`, out: spec.numOutCh, in: nf });
    return rows;
  }
  const basicsr = layout === 'basicsr';
  rows.push({ prefix: 'conv_first', out: nf, in: firstIn });
  for (let i = 0; i < numBlock; i++) {
    for (let k = 1; k <= 3; k++) {
      dense(basicsr ? `body.${i}` : `RRDB_trunk.${i}`, basicsr ? `rdb${k}` : `RDB${k}`, (j) => `conv${j}`);
    }
  }
  rows.push({ prefix: basicsr ? 'conv_body' : 'trunk_conv', out: nf, in: nf });
  for (let u = 1; u <= numUp; u++) rows.push({ prefix: basicsr ? `conv_up${u}` : `upconv${u}`, out: nf, in: nf });
  rows.push({ prefix: basicsr ? 'conv_hr' : 'HRconv', out: nf, in: nf });
  rows.push({ prefix: 'conv_last', out: spec.numOutCh, in: nf });
  return rows;
}

function makeStateDict(spec: Spec, seed = 1): StateDict {
  const rand = random(seed);
  const sd: StateDict = new Map();
  for (const { prefix, out, in: input } of layoutKeys(spec)) {
    // Uniform with variance ~ 2 / fan_in keeps activations O(1) through the deep trunk.
    const a = Math.sqrt(6 / (input * 9)) * 2;
    sd.set(`${prefix}.weight`, {
      dtype: 'float32',
      shape: [out, input, 3, 3],
      data: Float32Array.from({ length: out * input * 9 }, () => rand() * a),
    });
    sd.set(`${prefix}.bias`, { dtype: 'float32', shape: [out], data: Float32Array.from({ length: out }, () => rand() * 0.2) });
  }
  return sd;
}

// ---- a plain-JS RRDBNet forward pass ---------------------------------------------------------

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

const lrelu = (x: Plane): Plane => ({ ...x, data: x.data.map((v) => (v >= 0 ? v : v * 0.2)) });
/** a * 0.2 + b, the residual form. */
const residual = (a: Plane, b: Plane): Plane => ({ ...b, data: a.data.map((v, i) => v * 0.2 + b.data[i]!) });
const add = (a: Plane, b: Plane): Plane => ({ ...b, data: a.data.map((v, i) => v + b.data[i]!) });
/** Channel concatenation: CHW planes are contiguous per channel. */
function cat(planes: readonly Plane[]): Plane {
  const data = new Float32Array(planes.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of planes) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { c: planes.reduce((n, p) => n + p.c, 0), h: planes[0]!.h, w: planes[0]!.w, data };
}

/** torch pixel_unshuffle: out[c r^2 + i r + j, y, x] = in[c, y r + i, x r + j]. */
function pixelUnshuffle(x: Plane, r: number): Plane {
  const [h, w] = [x.h / r, x.w / r];
  const out = new Float32Array(x.data.length);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++)
        for (let yy = 0; yy < h; yy++)
          for (let xx = 0; xx < w; xx++)
            out[((c * r * r + i * r + j) * h + yy) * w + xx] = x.data[(c * x.h + yy * r + i) * x.w + xx * r + j]!;
  return { c: x.c * r * r, h, w, data: out };
}

/** F.interpolate(mode='nearest') by an integer factor: out[y, x] = in[floor(y / f), floor(x / f)]. */
function nearest(x: Plane, f: number): Plane {
  const [h, w] = [x.h * f, x.w * f];
  const out = new Float32Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++) out[(c * h + yy) * w + xx] = x.data[(c * x.h + Math.floor(yy / f)) * x.w + Math.floor(xx / f)]!;
  return { c: x.c, h, w, data: out };
}

/** Follows BasicSR's RRDBNet.forward over the spec's own key list. */
function referenceForward(sd: StateDict, spec: Spec, upsample: readonly number[], input: Plane): Plane {
  const convs = layoutKeys(spec);
  let next = 0;
  const conv = (x: Plane) => {
    const { prefix, out } = convs[next++]!;
    return conv3x3(x, sd.get(`${prefix}.weight`)!.data as Float32Array, sd.get(`${prefix}.bias`)!.data as Float32Array, out);
  };
  const first = conv(spec.unshuffle > 1 ? pixelUnshuffle(input, spec.unshuffle) : input);
  let feat = first;
  for (let i = 0; i < spec.numBlock; i++) {
    const blockIn = feat;
    for (let k = 0; k < 3; k++) {
      const dense = [feat];
      for (let j = 1; j <= 4; j++) dense.push(lrelu(conv(cat(dense))));
      feat = residual(conv(cat(dense)), feat);
    }
    feat = residual(feat, blockIn);
  }
  feat = add(first, conv(feat));
  for (const f of upsample) feat = lrelu(conv(nearest(feat, f)));
  return conv(lrelu(conv(feat)));
}

// ---- helpers ---------------------------------------------------------------------------------

const backend = createNodeBackend({ threads: 1 });

function randomPlane(c: number, h: number, w: number, seed: number): Plane {
  const rand = random(seed);
  return { c, h, w, data: Float32Array.from({ length: c * h * w }, () => rand() + 0.5) };
}

async function runOnnx(onnx: Uint8Array, input: Plane, batch = 1) {
  const session = await backend.createSession(onnx);
  try {
    const data = new Float32Array(input.data.length * batch);
    for (let b = 0; b < batch; b++) data.set(input.data, b * input.data.length);
    return await session.run({ data, dims: [batch, input.c, input.h, input.w] });
  } finally {
    await session.release();
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const hyperOf = (spec: Spec, scale: number, upsample: number[]): RrdbHyperparameters => ({
  numInCh: spec.numInCh,
  numOutCh: spec.numOutCh,
  numFeat: spec.numFeat,
  numGrowCh: spec.numGrowCh,
  numBlock: spec.numBlock,
  scale,
  unshuffle: spec.unshuffle,
  upsample,
  keyLayout: spec.layout,
});

// [name, spec, scale, upsample factors, overrides]
type Case = [string, Spec, number, number[], { upscale?: number }];
const CASES: Case[] = [
  ['BasicSR x4', { ...tiny, layout: 'basicsr', numBlock: 2 }, 4, [2, 2], {}],
  ['BasicSR x2 (pixel_unshuffle 2)', { ...tiny, layout: 'basicsr', unshuffle: 2 }, 2, [2, 2], {}],
  ['BasicSR x1 (pixel_unshuffle 4)', { ...tiny, layout: 'basicsr', unshuffle: 4 }, 1, [2, 2], {}],
  ['BasicSR gray x2', { ...tiny, layout: 'basicsr', numInCh: 1, numOutCh: 1, unshuffle: 2 }, 2, [2, 2], {}],
  ['ESRGAN repo x4', { ...tiny, layout: 'esrgan', numBlock: 2 }, 4, [2, 2], {}],
  ['old ESRGAN x4', { ...tiny, layout: 'esrgan-old', numBlock: 2 }, 4, [2, 2], {}],
  ['old ESRGAN x2 (one upconv)', { ...tiny, layout: 'esrgan-old', numUp: 1 }, 2, [2], {}],
  ['old ESRGAN x1 (no upconv)', { ...tiny, layout: 'esrgan-old', numUp: 0 }, 1, [], {}],
  ['old ESRGAN x8', { ...tiny, layout: 'esrgan-old', numUp: 3 }, 8, [2, 2, 2], {}],
  ['old ESRGAN x3 (upscale option)', { ...tiny, layout: 'esrgan-old', numUp: 1 }, 3, [3], { upscale: 3 }],
  ['old ESRGAN x2 converted from BasicSR x2plus', { ...tiny, layout: 'esrgan-old', unshuffle: 2 }, 2, [2, 2], {}],
];

// ---- tests -----------------------------------------------------------------------------------

describe('RRDBNet hyperparameters', () => {
  for (const [name, spec, scale, upsample, overrides] of CASES) {
    it(`reads ${name}`, () => {
      const sd = makeStateDict(spec);
      expect(rrdbHyperparameters(sd, overrides)).toEqual(hyperOf(spec, scale, upsample));
      expect(detectRrdb(sd, overrides)).toEqual(hyperOf(spec, scale, upsample));
    });
  }

  it('reads num_feat, num_grow_ch and num_block from the tensors', () => {
    const sd = makeStateDict({ ...tiny, layout: 'basicsr', numFeat: 6, numGrowCh: 5, numBlock: 3 });
    expect(rrdbHyperparameters(sd)).toMatchObject({ numFeat: 6, numGrowCh: 5, numBlock: 3, scale: 4 });
  });

  it('lets the upscale option settle what the channels cannot', () => {
    // 4 input channels for 1 output: a gray x2 (unshuffle 2) by default, or a 4-channel x4.
    const sd = makeStateDict({ ...tiny, layout: 'basicsr', numInCh: 1, numOutCh: 1, unshuffle: 2 });
    expect(rrdbHyperparameters(sd)).toMatchObject({ numInCh: 1, scale: 2, unshuffle: 2 });
    expect(rrdbHyperparameters(sd, { upscale: 4 })).toMatchObject({ numInCh: 4, scale: 4, unshuffle: 1 });
    expect(() => rrdbHyperparameters(sd, { upscale: 8 })).toThrow(/upscale 8 does not fit this checkpoint: 2 upsampling/);
    const x1 = makeStateDict({ ...tiny, layout: 'basicsr', unshuffle: 4 });
    expect(() => rrdbHyperparameters(x1, { upscale: 3 })).toThrow(BadCheckpointError);
    expect(() => rrdbHyperparameters(x1, { upscale: 0 })).toThrow(InvalidOptionError);
    expect(() => rrdbHyperparameters(x1, { upscale: 2.5 })).toThrow(/upscale must be a positive integer/);
  });

  it('refuses an unshuffled input without enough upsampling', () => {
    // 48 = 16 x 3 input channels ask for pixel_unshuffle 4, but one upconv only gives x2.
    const sd = makeStateDict({ ...tiny, layout: 'esrgan-old', unshuffle: 4, numUp: 1 });
    expect(() => rrdbHyperparameters(sd)).toThrow(/model\.0\.weight takes 48 = 16 x 3 channels/);
  });

  it('computes the exact receptive radius of the official models', () => {
    const official = (numBlock: number, unshuffle: number, scale: number) =>
      rrdbGeometry(hyperOf({ ...tiny, layout: 'basicsr', numFeat: 64, numGrowCh: 32, numBlock, unshuffle }, scale, [2, 2]));
    // Working memory: 64 features at 4x4 the input resolution dominate (measured 16.1 KB per pixel).
    expect(official(23, 1, 4)).toEqual({ scale: 4, alignment: 1, receptiveRadius: 349, workingBytesPerPixel: 4 * (5 * 1024 + 3 + 48) }); // RealESRGAN_x4plus
    expect(official(6, 1, 4)).toMatchObject({ scale: 4, alignment: 1, receptiveRadius: 94 }); // RealESRGAN_x4plus_anime_6B
    expect(official(23, 2, 2)).toMatchObject({ scale: 2, alignment: 2, receptiveRadius: 698 }); // RealESRGAN_x2plus
    expect(official(23, 4, 1)).toMatchObject({ scale: 1, alignment: 4, receptiveRadius: 1396 });
    // Without unshuffle, old-layout x2 and x1 are still aligned like RealESRGANer pads them.
    const old = (numUp: number, scale: number) =>
      rrdbGeometry(hyperOf({ ...tiny, layout: 'esrgan-old', numUp }, scale, Array.from({ length: numUp }, () => 2)));
    expect(old(1, 2)).toMatchObject({ scale: 2, alignment: 2, receptiveRadius: 19 });
    expect(old(0, 1)).toMatchObject({ scale: 1, alignment: 4, receptiveRadius: 19 });
    expect(old(3, 8)).toMatchObject({ scale: 8, alignment: 1, receptiveRadius: 19 });
  });
});

describe('RRDBNet checkpoint errors', () => {
  const basic = () => makeStateDict({ ...tiny, layout: 'basicsr', numBlock: 2 });

  it('does not claim other layouts', () => {
    expect(detectRrdb(new Map())).toBeUndefined();
    const srvgg: StateDict = new Map([['body.0.weight', { dtype: 'float32', shape: [4, 3, 3, 3], data: new Float32Array(108) }]]);
    expect(detectRrdb(srvgg)).toBeUndefined();
    expect(() => rrdbHyperparameters(srvgg)).toThrow(UnsupportedArchitectureError);
  });

  it('refuses foreign tensors as another architecture, naming them', () => {
    // ESRGAN+ adds a 1x1 convolution to every dense block.
    const plus = makeStateDict({ ...tiny, layout: 'esrgan-old' });
    plus.set('model.1.sub.0.RDB1.conv1x1.weight', { dtype: 'float32', shape: [4, 8, 1, 1], data: new Float32Array(32) });
    expect(() => rrdbHyperparameters(plus)).toThrow(UnsupportedArchitectureError);
    expect(() => detectRrdb(plus)).toThrow(/unexpected tensors model\.1\.sub\.0\.RDB1\.conv1x1\.weight/);
    const extra = basic();
    extra.set('conv_extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    expect(() => rrdbHyperparameters(extra)).toThrow(/basicsr key layout\): unexpected tensors conv_extra\.weight/);
  });

  it('names a tensor with the wrong shape, expected and actual', () => {
    const sd = basic();
    sd.set('body.1.rdb2.conv3.weight', { dtype: 'float32', shape: [4, 15, 3, 3], data: new Float32Array(540) });
    expect(() => rrdbHyperparameters(sd)).toThrow(BadCheckpointError);
    expect(() => rrdbHyperparameters(sd)).toThrow(/tensor body\.1\.rdb2\.conv3\.weight has shape \[4, 15, 3, 3\], expected \[4, 16, 3, 3\]/);
    const first = basic();
    first.set('conv_first.weight', { dtype: 'float32', shape: [8, 3, 5, 5], data: new Float32Array(600) });
    expect(() => rrdbHyperparameters(first)).toThrow(/conv_first\.weight has shape \[8, 3, 5, 5\], expected \[num_feat, in_channels, 3, 3\]/);
    const old = makeStateDict({ ...tiny, layout: 'esrgan-old' });
    old.set('model.8.bias', { dtype: 'float32', shape: [7], data: new Float32Array(7) });
    expect(() => rrdbHyperparameters(old)).toThrow(/tensor model\.8\.bias has shape \[7\], expected \[8\]/);
  });

  it('names missing tensors and gaps in the blocks', () => {
    const sd = basic();
    sd.delete('conv_up2.bias');
    expect(() => rrdbHyperparameters(sd)).toThrow(/missing tensor conv_up2\.bias \(expected shape \[8\]\)/);
    const gap = makeStateDict({ ...tiny, layout: 'esrgan', numBlock: 3 });
    for (const key of [...gap.keys()]) if (key.startsWith('RRDB_trunk.1.')) gap.delete(key);
    expect(() => rrdbHyperparameters(gap)).toThrow(/missing tensor RRDB_trunk\.1\.RDB1\.conv1\.weight/);
    const noLast = basic();
    noLast.delete('conv_last.weight');
    noLast.delete('conv_last.bias');
    expect(() => rrdbHyperparameters(noLast)).toThrow(/missing tensor conv_last\.weight/);
  });

  it('refuses an old layout whose last convolution is not at 3n + 4', () => {
    const sd = makeStateDict({ ...tiny, layout: 'esrgan-old' });
    sd.set('model.12.weight', { dtype: 'float32', shape: [3, 8, 3, 3], data: new Float32Array(216) });
    expect(() => rrdbHyperparameters(sd)).toThrow(/last convolution is model\.12/);
  });

  it('refuses integer tensors', () => {
    const sd = basic();
    sd.set('conv_hr.bias', { dtype: 'int64', shape: [8], data: new BigInt64Array(8) });
    expect(() => rrdbHyperparameters(sd)).toThrow(/conv_hr\.bias holds int64/);
  });
});

describe.skipIf(!hasOnnxChecker)(`RRDBNet ONNX validity (python onnx checker${hasOnnxChecker ? '' : `; skipped: ${noCheckerReason}`})`, () => {
  for (const [name, spec, , , overrides] of [CASES[0]!, CASES[2]!, CASES[7]!]) {
    it(`passes check_model(full_check=True): ${name}`, () => {
      const { onnx, hyper, geometry } = buildRrdbOnnx(makeStateDict(spec), overrides);
      const r = runOnnxChecker(onnx, 'print(json.dumps({p.key: p.value for p in m.metadata_props}))');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        architecture: 'RRDBNet',
        hyperparameters: JSON.stringify(hyper),
        scale: String(geometry.scale),
        alignment: String(geometry.alignment),
        receptive_radius: String(geometry.receptiveRadius),
        converter_version: CONVERTER_VERSION,
      });
    });
  }
});

describe('RRDBNet numerics on onnxruntime-node against a JS reference', () => {
  CASES.forEach(([name, spec, scale, upsample, overrides], index) => {
    it(name, async () => {
      const sd = makeStateDict(spec, 10 + index);
      const built = buildRrdbOnnx(sd, overrides);
      // Non-square and a multiple of 4, so that an H/W mix-up or a wrong unshuffle order shows.
      const input = randomPlane(spec.numInCh, 8, 12, 99 + index);
      const expected = referenceForward(sd, spec, upsample, input);
      const out = await runOnnx(built.onnx, input);
      expect(out.dims).toEqual([1, spec.numOutCh, 8 * scale, 12 * scale]);
      expect(maxDiff(out.data, expected.data)).toBeLessThan(1e-4);
    });
  });

  it('runs a batch of two and another size on one graph (dynamic N, H, W)', async () => {
    const spec: Spec = { ...tiny, layout: 'basicsr', unshuffle: 2 };
    const sd = makeStateDict(spec, 5);
    const { onnx } = buildRrdbOnnx(sd);
    for (const [h, w] of [[4, 6], [10, 2]] as const) {
      const input = randomPlane(3, h, w, h * w);
      const out = await runOnnx(onnx, input, 2);
      expect(out.dims).toEqual([2, 3, h * 2, w * 2]);
      const one = referenceForward(sd, spec, [2, 2], input).data;
      expect(maxDiff(out.data.subarray(0, one.length), one)).toBeLessThan(1e-4);
      expect(maxDiff(out.data.subarray(one.length), one)).toBeLessThan(1e-4);
    }
  });
});

/**
 * A network whose only non-zero weights are 1 at one edge tap (kx 0 reads x - 1, kx 2 reads
 * x + 1), on the channel that carries the longest chain: conv_j of a dense block reads x_{j-1}.
 * Without biases and with positive inputs it is linear and positive, so the farthest input pixel
 * reaches the tile's edge output undamped (x 0.2 per residual), where random weights fade it
 * below float precision long before the radius.
 */
function makeProbeStateDict(spec: Spec, side: 'left' | 'right'): StateDict {
  const sd: StateDict = new Map();
  const kx = side === 'left' ? 0 : 2;
  layoutKeys(spec).forEach(({ prefix, out, in: input }, index) => {
    let channel = 0;
    // conv_first: the unshuffled channel of sub-column 0 (left) or r - 1 (right).
    if (index === 0) channel = side === 'left' ? 0 : spec.unshuffle - 1;
    const j = index >= 1 && index <= 15 * spec.numBlock ? ((index - 1) % 5) + 1 : 0;
    if (j > 1) channel = spec.numFeat + (j - 2) * spec.numGrowCh;
    const weight = new Float32Array(out * input * 9);
    for (let o = 0; o < out; o++) weight[((o * input + channel) * 3 + 1) * 3 + kx] = 1;
    sd.set(`${prefix}.weight`, { dtype: 'float32', shape: [out, input, 3, 3], data: weight });
    sd.set(`${prefix}.bias`, { dtype: 'float32', shape: [out], data: new Float32Array(out) });
  });
  return sd;
}

describe('RRDBNet receptive radius is exact', () => {
  // The output of a tile [a, a + r) of a wide strip, padded by the radius, equals the whole
  // strip's there; padded by one alignment step less it does not.
  const cases: [string, Spec][] = [
    ['x4', { ...tiny, layout: 'basicsr' }],
    ['x2', { ...tiny, layout: 'basicsr', unshuffle: 2 }],
    ['x1', { ...tiny, layout: 'basicsr', unshuffle: 4 }],
    ['old x8', { ...tiny, layout: 'esrgan-old', numUp: 3 }],
    ['old x1', { ...tiny, layout: 'esrgan-old', numUp: 0 }],
  ];
  for (const [name, spec] of cases) {
    it(name, async () => {
      const { geometry } = buildRrdbOnnx(makeStateDict(spec, 3));
      // Tiles start on the alignment grid; the test steps by it.
      const { scale, alignment: r, receptiveRadius: radius } = geometry;
      const height = 4;
      const width = 2 * radius + 4 * r;
      const strip = randomPlane(spec.numInCh, height, width, 7);
      const a = radius + 2 * r; // the tile's first input column, aligned
      /** Largest difference over the tile's output columns [a s, (a + r) s). */
      const tileError = async (onnx: Uint8Array, pad: number) => {
        const whole = await runOnnx(onnx, strip);
        const x0 = a - pad;
        const w = r + 2 * pad;
        const crop = new Float32Array(spec.numInCh * height * w);
        for (let c = 0; c < spec.numInCh; c++)
          for (let y = 0; y < height; y++)
            for (let x = 0; x < w; x++) crop[(c * height + y) * w + x] = strip.data[(c * height + y) * width + x0 + x]!;
        const out = await runOnnx(onnx, { c: spec.numInCh, h: height, w, data: crop });
        let worst = 0;
        for (let c = 0; c < spec.numOutCh; c++)
          for (let y = 0; y < height * scale; y++)
            for (let x = 0; x < r * scale; x++) {
              const tiled = out.data[(c * height * scale + y) * w * scale + pad * scale + x]!;
              const full = whole.data[(c * height * scale + y) * width * scale + a * scale + x]!;
              worst = Math.max(worst, Math.abs(tiled - full));
            }
        return worst;
      };
      expect(await tileError(buildRrdbOnnx(makeStateDict(spec, 3)).onnx, radius)).toBeLessThan(1e-5);
      for (const side of ['left', 'right'] as const) {
        const probe = buildRrdbOnnx(makeProbeStateDict(spec, side)).onnx;
        expect(await tileError(probe, radius)).toBeLessThan(1e-5);
        expect(await tileError(probe, radius - r)).toBeGreaterThan(1e-4);
      }
    });
  }
});
