/**
 * SPAN, the Swift Parameter-free Attention Network (Wan et al., CVPR-W 2024; hongyuanyu/SPAN
 * `basicsr/archs/span_arch.py`, and as spandrel and neosr define it): hyperparameters read from a
 * state dict, tiling geometry, cost, and the equivalent ONNX graph.
 *
 * forward(x), feature_channels F:
 *   x = (x - rgb_mean) * img_range        unless the state dict has a `no_norm` buffer
 *   f0 = conv_1(x); b1..b6 = block_1..block_6 (SPAB, each on the previous); t = conv_2(b6)
 *   out = pixel_shuffle(upsampler.0(conv_cat(cat[f0, t, b1, block_6's c1 output])), upscale)
 * SPAB(x): o1 = c1_r(x); o3 = c3_r(silu(c2_r(silu(o1)))); out = (o3 + x) * (sigmoid(o3) - 0.5).
 *
 * Every `conv_1`, `conv_2` and `block_N.cK_r` is a Conv3XC: train-time branches `sk` (1x1) and
 * `conv.0` (1x1, c_in -> 2 c_in), `conv.1` (3x3 unpadded, -> 2 c_out), `conv.2` (1x1, -> c_out) on
 * the input zero-padded by one pixel, summed; and `eval_conv`, one 3x3 conv. In eval mode every
 * published definition folds the branches into eval_conv before each forward, so the stored
 * eval_conv values never run (they are stale in a checkpoint saved while training): the graph
 * folds the branches the same way, in float64.
 */
import { BadCheckpointError, InvalidOptionError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { referenceAlignment } from './srvgg.js';
import { floatTensor, fmt, listNames, tensorProblem } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const SPAN_ARCHITECTURE = 'SPAN';
/** SPAB blocks (fixed in every definition). */
export const SPAN_BLOCKS = 6;
/** Width multiplier inside a Conv3XC's train-time branch (gain1 = 2 in every definition). */
export const SPAN_CONV3XC_GAIN = 2;
/** The authors' normalisation, which spandrel assumes too: neither is stored in a checkpoint. */
export const SPAN_DEFAULT_IMG_RANGE = 255;
export const SPAN_DEFAULT_RGB_MEAN: readonly [number, number, number] = [0.4488, 0.4371, 0.404];
/**
 * 3x3 convolutions on the longest path from input to output: conv_1, 6 blocks x 3 Conv3XC,
 * conv_2 and upsampler.0 (conv_cat is 1x1). Each widens the field by one input pixel per side.
 */
export const SPAN_RECEPTIVE_RADIUS = 1 + 3 * SPAN_BLOCKS + 1 + 1;

export interface SpanHyperparameters {
  readonly numInCh: number;
  readonly numOutCh: number;
  readonly featureChannels: number;
  readonly upscale: number;
  /** Every convolution has a bias (upstream's `bias` argument is unused). */
  readonly bias: true;
  /** Input normalised by (x - rgbMean) * imgRange: true unless the state dict has `no_norm`. */
  readonly norm: boolean;
  /** Not in the file: the authors' 255 unless told (used only when `norm`). */
  readonly imgRange: number;
  /** Not in the file: the authors' (0.4488, 0.4371, 0.4040) unless told (used only when `norm`). */
  readonly rgbMean: readonly [number, number, number];
}

/** What a SPAN state dict cannot say for itself. */
export interface SpanOverrides {
  /** Upscale factor; by default from upsampler.0's channels (num_out_ch x upscale^2). */
  upscale?: number;
  /** Output channels; by default the input's, else the first of 3, 4, 1 that fits (spandrel's rule). */
  numOutCh?: number;
  /**
   * Normalisation of a checkpoint without `no_norm` (neosr's `norm: true` uses 1 and
   * [0.5, 0.5, 0.5], the authors' code 255 and [0.4488, 0.4371, 0.4040], the default).
   */
  imgRange?: number;
  rgbMean?: readonly number[];
}

export interface SpanOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: SpanHyperparameters;
  readonly geometry: ArchitectureGeometry;
}

/** Tensors whose presence says "this is SPAN" (spandrel keys on these and the eval_conv ones). */
const MARKERS = ['conv_1.sk.weight', 'block_1.c1_r.sk.weight', 'conv_cat.weight', 'conv_2.sk.weight', 'upsampler.0.weight'];
const NO_NORM = 'no_norm';
const CONV3XC_PARTS = ['sk', 'conv.0', 'conv.1', 'conv.2', 'eval_conv'] as const;

/** Conv3XC modules in forward order, with their channels. */
function conv3xcs(numInCh: number, f: number): { name: string; cin: number; cout: number }[] {
  const out = [{ name: 'conv_1', cin: numInCh, cout: f }];
  for (let b = 1; b <= SPAN_BLOCKS; b++) for (let k = 1; k <= 3; k++) out.push({ name: `block_${b}.c${k}_r`, cin: f, cout: f });
  out.push({ name: 'conv_2', cin: f, cout: f });
  return out;
}

/**
 * Hyperparameters when the state dict has SPAN's tensor names, undefined otherwise. A state dict
 * with those names but a missing, stray or wrong-shaped tensor throws BadCheckpointError naming it.
 */
export function detectSpan(stateDict: StateDict, overrides?: SpanOverrides): SpanHyperparameters | undefined {
  if (!MARKERS.every((name) => stateDict.has(name))) return undefined;
  return spanHyperparameters(stateDict, overrides);
}

/** Reads and validates every tensor; throws BadCheckpointError naming the offending tensor. */
export function spanHyperparameters(stateDict: StateDict, overrides: SpanOverrides = {}): SpanHyperparameters {
  checkOverrides(overrides);
  const sk = stateDict.get('conv_1.sk.weight');
  if (!sk || sk.shape.length !== 4 || sk.shape[2] !== 1 || sk.shape[3] !== 1 || sk.shape[0]! < 1 || sk.shape[1]! < 1) {
    throw new BadCheckpointError(
      `${SPAN_ARCHITECTURE}: tensor conv_1.sk.weight has shape ${sk ? fmt(sk.shape) : 'none'}, expected [feature_channels, num_in_ch, 1, 1]`,
      { details: { tensor: 'conv_1.sk.weight' } },
    );
  }
  const featureChannels = sk.shape[0]!;
  const numInCh = sk.shape[1]!;
  const up = stateDict.get('upsampler.0.weight');
  if (!up) throw new BadCheckpointError(`${SPAN_ARCHITECTURE}: missing tensor upsampler.0.weight`, { details: { tensor: 'upsampler.0.weight' } });
  if (up.shape.length !== 4 || up.shape[1] !== featureChannels || up.shape[2] !== 3 || up.shape[3] !== 3) {
    throw new BadCheckpointError(
      `${SPAN_ARCHITECTURE}: tensor upsampler.0.weight has shape ${fmt(up.shape)}, expected [num_out_ch * upscale^2, ${featureChannels}, 3, 3]`,
      { details: { tensor: 'upsampler.0.weight' } },
    );
  }
  const { numOutCh, upscale } = outputLayout(up.shape[0]!, numInCh, overrides);

  const expected = expectedShapes(numInCh, featureChannels, numOutCh * upscale * upscale);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  // no_norm is a flag: its presence counts, its value and shape never do (spandrel overwrites it).
  const unexpected = [...stateDict.keys()].filter((k) => !expected.has(k) && k !== NO_NORM);
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${SPAN_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }

  const norm = !stateDict.has(NO_NORM);
  if (!norm && (overrides.imgRange !== undefined || overrides.rgbMean !== undefined)) {
    const option = overrides.imgRange !== undefined ? 'imgRange' : 'rgbMean';
    throw new InvalidOptionError(
      `Option ${option} applies to ${SPAN_ARCHITECTURE} checkpoints that normalise their input; this one has a no_norm tensor (no normalisation)`,
      { details: { option } },
    );
  }
  if (norm && numInCh !== 3) {
    // (x - mean) with a 3-value mean: PyTorch cannot run such a network either.
    throw new BadCheckpointError(
      `${SPAN_ARCHITECTURE}: tensor conv_1.sk.weight takes ${numInCh} input channels, but a checkpoint without no_norm subtracts a 3-channel rgb_mean from its input`,
      { details: { tensor: 'conv_1.sk.weight' } },
    );
  }
  const rgbMean = overrides.rgbMean ?? SPAN_DEFAULT_RGB_MEAN;
  return {
    numInCh,
    numOutCh,
    featureChannels,
    upscale,
    bias: true,
    norm,
    imgRange: overrides.imgRange ?? SPAN_DEFAULT_IMG_RANGE,
    rgbMean: [rgbMean[0]!, rgbMean[1]!, rgbMean[2]!],
  };
}

export function spanGeometry(hyper: SpanHyperparameters): ArchitectureGeometry {
  return {
    scale: hyper.upscale,
    // SPAN needs no alignment; RealESRGANer's reflect pad for x2 / x1 networks is kept to match it.
    alignment: referenceAlignment(hyper.upscale),
    receptiveRadius: SPAN_RECEPTIVE_RADIUS,
    workingBytesPerPixel: workingBytesPerPixel({
      // The concatenation before conv_cat, or upsampler.0's output before the shuffle.
      widestChannels: Math.max(4 * hyper.featureChannels, hyper.numOutCh * hyper.upscale ** 2),
      inChannels: hyper.numInCh,
      outChannels: hyper.numOutCh,
      scale: hyper.upscale,
    }),
  };
}

/** Multiply-accumulates per output pixel of the graph as built (each Conv3XC folded to one 3x3). */
export function spanMacsPerOutputPixel(hyper: SpanHyperparameters): number {
  const f = hyper.featureChannels;
  const s2 = hyper.upscale ** 2;
  const perInputPixel =
    9 * hyper.numInCh * f + // conv_1
    (3 * SPAN_BLOCKS + 1) * 9 * f * f + // the blocks' Conv3XC and conv_2
    4 * f * f + // conv_cat (1x1)
    9 * f * hyper.numOutCh * s2; // upsampler.0
  return perInputPixel / s2;
}

/** The ONNX graph: input `input` [N, C, H, W] (dynamic N, H, W), output `output` [N, num_out_ch, H * s, W * s]. */
export function buildSpanOnnx(stateDict: StateDict, overrides?: SpanOverrides): SpanOnnx {
  const hyper = spanHyperparameters(stateDict, overrides);
  const geometry = spanGeometry(hyper);
  const g = new OnnxGraphBuilder(SPAN_ARCHITECTURE);
  g.input('input', 'float32', ['N', hyper.numInCh, 'H', 'W']);

  let x = 'input';
  if (hyper.norm) {
    g.initializer('norm.mean', [1, 3, 1, 1], new Float32Array(hyper.rgbMean));
    g.initializer('norm.range', [], new Float32Array([hyper.imgRange]));
    g.node('Sub', ['input', 'norm.mean'], ['norm.centred']);
    g.node('Mul', ['norm.centred', 'norm.range'], ['norm']);
    x = 'norm';
  }
  g.initializer('half', [], new Float32Array([0.5]));

  const conv3xc = (name: string, input: string): string => {
    const { weight, bias, shape } = foldConv3xc(stateDict, name);
    g.initializer(`${name}.weight`, shape, weight);
    g.initializer(`${name}.bias`, [shape[0]!], bias);
    g.node('Conv', [input, `${name}.weight`, `${name}.bias`], [name], conv3x3);
    return name;
  };
  const silu = (input: string): string => {
    g.node('Sigmoid', [input], [`${input}.sigmoid`]);
    g.node('Mul', [input, `${input}.sigmoid`], [`${input}.silu`]);
    return `${input}.silu`;
  };

  const f0 = conv3xc('conv_1', x);
  let feat = f0;
  let b1 = '';
  let lastC1 = '';
  for (let b = 1; b <= SPAN_BLOCKS; b++) {
    const block = `block_${b}`;
    const o1 = conv3xc(`${block}.c1_r`, feat);
    const o3 = conv3xc(`${block}.c3_r`, silu(conv3xc(`${block}.c2_r`, silu(o1))));
    // Parameter-free attention: (o3 + x) * (sigmoid(o3) - 0.5).
    g.node('Sigmoid', [o3], [`${block}.sigmoid`]);
    g.node('Sub', [`${block}.sigmoid`, 'half'], [`${block}.attention`]);
    g.node('Add', [o3, feat], [`${block}.residual`]);
    g.node('Mul', [`${block}.residual`, `${block}.attention`], [block]);
    feat = block;
    if (b === 1) b1 = block;
    lastC1 = o1;
  }
  const t = conv3xc('conv_2', feat);
  g.node('Concat', [f0, t, b1, lastC1], ['cat'], { axis: attr.int(1) });
  for (const name of ['conv_cat', 'upsampler.0']) {
    for (const param of ['weight', 'bias']) {
      const entry = floatTensor(stateDict, `${name}.${param}`);
      g.initializer(`${name}.${param}`, entry.shape, entry.data);
    }
  }
  g.node('Conv', ['cat', 'conv_cat.weight', 'conv_cat.bias'], ['conv_cat'], {
    kernel_shape: attr.ints([1, 1]),
    pads: attr.ints([0, 0, 0, 0]),
    strides: attr.ints([1, 1]),
    dilations: attr.ints([1, 1]),
    group: attr.int(1),
  });
  g.node('Conv', ['conv_cat', 'upsampler.0.weight', 'upsampler.0.bias'], ['upsampler.0'], conv3x3);
  // DepthToSpace in CRD mode is exactly torch.nn.functional.pixel_shuffle.
  g.node('DepthToSpace', ['upsampler.0'], ['output'], { blocksize: attr.int(hyper.upscale), mode: attr.string('CRD') });
  g.output('output', 'float32', ['N', hyper.numOutCh, 'H_out', 'W_out']);

  const onnx = g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `${SPAN_ARCHITECTURE} x${hyper.upscale} (${hyper.featureChannels} features), converted from a PyTorch state dict by superres`,
    metadata: {
      architecture: SPAN_ARCHITECTURE,
      hyperparameters: JSON.stringify(hyper),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
  return { onnx, hyper, geometry };
}

const conv3x3 = {
  kernel_shape: attr.ints([3, 3]),
  pads: attr.ints([1, 1, 1, 1]),
  strides: attr.ints([1, 1]),
  dilations: attr.ints([1, 1]),
  group: attr.int(1),
};

/**
 * One Conv3XC as the single 3x3 convolution its eval mode runs: with a = conv.0 (1x1), w2 = conv.1
 * (3x3), c = conv.2 (1x1), W[o,i,y,x] = sum_n c[o,n] sum_m w2[n,m,y,x] a[m,i] + sk[o,i] at the
 * centre tap, B[o] = sum_n c[o,n] (sum_m (sum_yx w2[n,m,y,x]) b1[m] + b2[n]) + b3[o] + b_sk[o].
 * The input is zero-padded before conv.0, so b1 reaches every tap, border ones included, as the
 * folded conv's zero padding assumes. Summed in float64, rounded once to float32.
 */
export function foldConv3xc(stateDict: StateDict, name: string): { weight: Float32Array; bias: Float32Array; shape: number[] } {
  const t = (part: string) => floatTensor(stateDict, `${name}.${part}`);
  const a = t('conv.0.weight');
  const b1 = t('conv.0.bias').data;
  const w2 = t('conv.1.weight');
  const b2 = t('conv.1.bias').data;
  const c = t('conv.2.weight');
  const b3 = t('conv.2.bias').data;
  const sk = t('sk.weight');
  const bsk = t('sk.bias').data;
  const mid = a.shape[0]!; // 2 c_in
  const cin = a.shape[1]!;
  const n2 = w2.shape[0]!; // 2 c_out
  const cout = c.shape[0]!;

  // inner[n, i, k] = sum_m w2[n, m, k] a[m, i]   (k: the 9 taps)
  const inner = new Float64Array(n2 * cin * 9);
  for (let n = 0; n < n2; n++) {
    for (let m = 0; m < mid; m++) {
      for (let i = 0; i < cin; i++) {
        const am = a.data[m * cin + i]!;
        if (am === 0) continue;
        const dst = (n * cin + i) * 9;
        const src = (n * mid + m) * 9;
        for (let k = 0; k < 9; k++) inner[dst + k]! += w2.data[src + k]! * am;
      }
    }
  }
  const weight64 = new Float64Array(cout * cin * 9);
  for (let o = 0; o < cout; o++) {
    for (let n = 0; n < n2; n++) {
      const cn = c.data[o * n2 + n]!;
      if (cn === 0) continue;
      const dst = o * cin * 9;
      const src = n * cin * 9;
      for (let j = 0; j < cin * 9; j++) weight64[dst + j]! += cn * inner[src + j]!;
    }
    for (let i = 0; i < cin; i++) weight64[(o * cin + i) * 9 + 4]! += sk.data[o * cin + i]!;
  }
  // Bias: b1 through conv.1 (every tap), plus b2, through conv.2, plus b3 and the shortcut's.
  const midBias = new Float64Array(n2);
  for (let n = 0; n < n2; n++) {
    let sum = b2[n]!;
    for (let m = 0; m < mid; m++) {
      let taps = 0;
      for (let k = 0; k < 9; k++) taps += w2.data[(n * mid + m) * 9 + k]!;
      sum += taps * b1[m]!;
    }
    midBias[n] = sum;
  }
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    let sum = b3[o]! + bsk[o]!;
    for (let n = 0; n < n2; n++) sum += c.data[o * n2 + n]! * midBias[n]!;
    bias[o] = sum;
  }
  return { weight: Float32Array.from(weight64), bias, shape: [cout, cin, 3, 3] };
}

// ---- validation helpers ---------------------------------------------------------------------

function expectedShapes(numInCh: number, f: number, upOut: number): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const g = SPAN_CONV3XC_GAIN;
  for (const { name, cin, cout } of conv3xcs(numInCh, f)) {
    const parts: Record<(typeof CONV3XC_PARTS)[number], [number, number, number]> = {
      sk: [cout, cin, 1],
      'conv.0': [g * cin, cin, 1],
      'conv.1': [g * cout, g * cin, 3],
      'conv.2': [cout, g * cout, 1],
      eval_conv: [cout, cin, 3],
    };
    for (const part of CONV3XC_PARTS) {
      const [o, i, k] = parts[part];
      shapes.set(`${name}.${part}.weight`, [o, i, k, k]);
      shapes.set(`${name}.${part}.bias`, [o]);
    }
  }
  shapes.set('conv_cat.weight', [f, 4 * f, 1, 1]);
  shapes.set('conv_cat.bias', [f]);
  shapes.set('upsampler.0.weight', [upOut, f, 3, 3]);
  shapes.set('upsampler.0.bias', [upOut]);
  return shapes;
}

function outputLayout(upOut: number, numInCh: number, overrides: SpanOverrides): { numOutCh: number; upscale: number } {
  if (overrides.upscale !== undefined) {
    const numOutCh = upOut / overrides.upscale ** 2;
    if (Number.isInteger(numOutCh) && (overrides.numOutCh === undefined || overrides.numOutCh === numOutCh)) {
      return { numOutCh, upscale: overrides.upscale };
    }
  } else {
    // num_out_ch * upscale^2 = upOut; spandrel tries the input's channels, then 3, 4, 1.
    const candidates = overrides.numOutCh !== undefined ? [overrides.numOutCh] : [numInCh, 3, 4, 1];
    for (const numOutCh of candidates) {
      const upscale = Math.round(Math.sqrt(upOut / numOutCh));
      if (upscale >= 1 && upscale * upscale * numOutCh === upOut) return { numOutCh, upscale };
    }
  }
  const told = [
    overrides.numOutCh !== undefined ? `num_out_ch ${overrides.numOutCh}` : '',
    overrides.upscale !== undefined ? `upscale ${overrides.upscale}` : '',
  ].filter(Boolean);
  throw new BadCheckpointError(
    `${SPAN_ARCHITECTURE}: tensor upsampler.0.weight has ${upOut} output channels, which is not num_out_ch x upscale^2 for an integer upscale` +
      (told.length > 0 ? ` with ${told.join(' and ')}` : ` (num_out_ch tried: ${numInCh}, 3, 4, 1)`),
    { details: { tensor: 'upsampler.0.weight' } },
  );
}

/** The options that apply to SPAN, checked; one meant for another architecture is a mistake worth saying. */
function spanOverrides(overrides: ArchitectureOverrides): SpanOverrides {
  if (overrides.activation !== undefined) {
    throw new InvalidOptionError(`Option activation does not apply to ${SPAN_ARCHITECTURE} (its activations are fixed: SiLU and sigmoid)`, {
      details: { option: 'activation' },
    });
  }
  const out: SpanOverrides = {};
  if (overrides.upscale !== undefined) out.upscale = overrides.upscale;
  if (overrides.numOutCh !== undefined) out.numOutCh = overrides.numOutCh;
  if (overrides.imgRange !== undefined) out.imgRange = overrides.imgRange as number;
  if (overrides.rgbMean !== undefined) out.rgbMean = overrides.rgbMean as number[];
  checkOverrides(out);
  return out;
}

export const spanArchitecture: Architecture<SpanHyperparameters> = {
  name: SPAN_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^conv_1\.(sk|conv\.[012]|eval_conv)\.(weight|bias)$/,
    /^block_\d+\.c\d_r\.(sk|conv\.[012]|eval_conv)\.(weight|bias)$/,
    /^conv_2\.(sk|conv\.[012]|eval_conv)\.(weight|bias)$/,
    // The optional no_norm flag rides on a pattern that always matches, so its absence costs nothing.
    /^(conv_cat\.weight|conv_cat\.bias|no_norm)$/,
    /^upsampler\.0\.(weight|bias)$/,
  ],
  detect(stateDict, overrides) {
    if (!MARKERS.every((name) => stateDict.has(name))) return undefined;
    return spanHyperparameters(stateDict, spanOverrides(overrides));
  },
  geometry: spanGeometry,
  macsPerOutputPixel: spanMacsPerOutputPixel,
  build: (stateDict, _hyper, overrides) => buildSpanOnnx(stateDict, spanOverrides(overrides)).onnx,
};

function checkOverrides(overrides: SpanOverrides): void {
  for (const option of ['numOutCh', 'upscale'] as const) {
    const value = overrides[option];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InvalidOptionError(`Option ${option} must be a positive integer, got ${JSON.stringify(value)}`, { details: { option } });
    }
  }
  const range = overrides.imgRange;
  if (range !== undefined && (typeof range !== 'number' || !Number.isFinite(range) || range <= 0)) {
    throw new InvalidOptionError(`Option imgRange must be a positive number, got ${JSON.stringify(range)}`, { details: { option: 'imgRange' } });
  }
  const mean = overrides.rgbMean;
  if (mean !== undefined && (!Array.isArray(mean) || mean.length !== 3 || !mean.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw new InvalidOptionError(`Option rgbMean must be three finite numbers, got ${JSON.stringify(mean)}`, { details: { option: 'rgbMean' } });
  }
}
