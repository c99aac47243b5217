/**
 * SwinIR ("SwinIR: Image Restoration Using Swin Transformer", arXiv 2108.10257; the authors'
 * JingyunLiang/SwinIR `models/network_swinir.py`, detected as spandrel's
 * `architectures/SwinIR/__init__.py` does): hyperparameters read from a state dict, geometry,
 * cost, and the ONNX graph. tools/reference/swinir_arch.py is the PyTorch reference.
 *
 * forward: reflect-pad right/bottom to a multiple of window_size; (x - mean) * img_range;
 * f = conv_first(x); f = conv_after_body(features(f)) + f; the upsampler; / img_range + mean; crop.
 * features: tokens (NHWC here), patch_embed.norm (LayerNorm, when patch_norm), RSTBs `layers.i`
 * (Swin blocks, then `conv` ('1conv' or '3conv') on the image, + the RSTB's input), `norm`.
 * Swin block `layers.i.residual_group.blocks.j`: y = norm1(x); roll by -window_size/2 on odd j;
 * windows; attention with the relative position bias (and the shift mask); windows back; roll
 * back; x += y; x += fc2(GELU(fc1(norm2(x)))).
 * Upsamplers: 'pixelshuffle' (classical), 'pixelshuffledirect' (lightweight), 'nearest+conv'
 * (real-SR). The denoising / JPEG models (no upsampler) and pixel-unshuffled inputs are refused.
 */
import { BadCheckpointError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { referenceAlignment } from './srvgg.js';
import { exactGelu } from './graph-ops.js';
import { checkRgbUpscalerOverrides } from './overrides.js';
import { countIndices, floatTensor, fmt, listNames, shapeErrors, tensorProblem, type ShapeErrors } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const SWINIR_ARCHITECTURE = 'SwinIR';
const shapes = shapeErrors(SWINIR_ARCHITECTURE);
// Annotated: a call to a `never` function narrows only through an explicitly typed name.
const bad: ShapeErrors['bad'] = shapes.bad;
const { shapeOf } = shapes;
export type SwinirUpsampler = 'pixelshuffle' | 'pixelshuffledirect' | 'nearest+conv';
export type SwinirResiConnection = '1conv' | '3conv';

/** nn.LayerNorm's default. */
const LAYER_NORM_EPS = 1e-5;
/** What the shift mask adds between tokens of different regions (upstream's value). */
const MASK_VALUE = -100;
/** RGB mean subtracted before the network and added back after (3-channel models). */
export const RGB_MEAN = [0.4488, 0.4371, 0.404] as const;
/** spandrel's img_size when no attn_mask buffer says it (only decides whether odd blocks shift). */
const DEFAULT_IMG_SIZE = 64;

export interface SwinirHyperparameters {
  readonly inChans: number;
  readonly embedDim: number;
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  readonly windowSize: number;
  readonly mlpRatio: number;
  readonly scale: number;
  /** 1, or 255 for window size 7 (spandrel's rule: only the JPEG models use that window). */
  readonly imgRange: number;
  readonly upsampler: SwinirUpsampler;
  readonly resiConnection: SwinirResiConnection;
  /** Features of the upsampler's convolutions (64 in every release); absent for pixelshuffledirect. */
  readonly numFeat?: number;
  /** The training patch size, from the attn_mask buffers (64 when none): odd blocks shift when it exceeds the window. */
  readonly imgSize: number;
  readonly patchNorm: boolean;
}

// ---- detection -------------------------------------------------------------------------------

const BLOCK0 = 'layers.0.residual_group.blocks.0';
const NAMES = [
  /^conv_first\.(weight|bias)$/,
  /^patch_embed\.norm\.(weight|bias)$/,
  /^layers\.\d+\.residual_group\.blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$/,
  /^layers\.\d+\.residual_group\.blocks\.\d+\.attn\.relative_position_(bias_table|index)$/,
  /^layers\.\d+\.residual_group\.blocks\.\d+\.attn_mask$/,
  /^layers\.\d+\.conv\.(\d\.)?(weight|bias)$/,
  /^norm\.(weight|bias)$/,
  /^conv_after_body\.(\d\.)?(weight|bias)$/,
  /^conv_before_upsample\.0\.(weight|bias)$/,
  /^upsample\.\d+\.(weight|bias)$/,
  /^conv_up\d\.(weight|bias)$/,
  /^conv_(hr|last)\.(weight|bias)$/,
];
/** Names of networks built on SwinIR's (Swin2SR, HAT) and of SwinIR's unreleased `ape` option: not detected as SwinIR. */
const OTHER_SWIN = /(logit_scale|cpb_mlp|relative_position_index_SA|overlap_attn|conv_block|absolute_pos_embed)/;




/** relative_position_index for a window: (dy + ws - 1) * (2 ws - 1) + dx + ws - 1, queries by keys, row-major. */
export function relativePositionIndex(ws: number): Int32Array {
  const n = ws * ws;
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dy = Math.floor(i / ws) - Math.floor(j / ws);
      const dx = (i % ws) - (j % ws);
      out[i * n + j] = (dy + ws - 1) * (2 * ws - 1) + dx + ws - 1;
    }
  }
  return out;
}

function isShifted(h: SwinirHyperparameters, block: number): boolean {
  return block % 2 === 1 && h.imgSize > h.windowSize;
}

/** Every float tensor the hyperparameters call for, with its shape (the buffers are checked apart). */
function expectedShapes(h: SwinirHyperparameters): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const E = h.embedDim;
  const conv = (prefix: string, out: number, input: number, k: number) => {
    shapes.set(`${prefix}.weight`, [out, input, k, k]);
    shapes.set(`${prefix}.bias`, [out]);
  };
  const linear = (prefix: string, out: number, input: number) => {
    shapes.set(`${prefix}.weight`, [out, input]);
    shapes.set(`${prefix}.bias`, [out]);
  };
  const vector = (prefix: string) => {
    shapes.set(`${prefix}.weight`, [E]);
    shapes.set(`${prefix}.bias`, [E]);
  };
  const resi = (prefix: string) => {
    if (h.resiConnection === '1conv') return conv(prefix, E, E, 3);
    const q = Math.floor(E / 4);
    conv(`${prefix}.0`, q, E, 3);
    conv(`${prefix}.2`, q, q, 1);
    conv(`${prefix}.4`, E, q, 3);
  };
  const hidden = Math.round(E * h.mlpRatio);
  conv('conv_first', E, h.inChans, 3);
  if (h.patchNorm) vector('patch_embed.norm');
  h.depths.forEach((depth, i) => {
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.residual_group.blocks.${j}`;
      vector(`${p}.norm1`);
      shapes.set(`${p}.attn.relative_position_bias_table`, [(2 * h.windowSize - 1) ** 2, h.numHeads[i]!]);
      linear(`${p}.attn.qkv`, 3 * E, E);
      linear(`${p}.attn.proj`, E, E);
      vector(`${p}.norm2`);
      linear(`${p}.mlp.fc1`, hidden, E);
      linear(`${p}.mlp.fc2`, E, hidden);
    }
    resi(`layers.${i}.conv`);
  });
  vector('norm');
  resi('conv_after_body');
  const nf = h.numFeat ?? 0;
  if (h.upsampler === 'pixelshuffle') {
    conv('conv_before_upsample.0', nf, E, 3);
    if (h.scale === 3) conv('upsample.0', 9 * nf, nf, 3);
    else for (let k = 0; 2 ** k < h.scale; k++) conv(`upsample.${2 * k}`, 4 * nf, nf, 3);
    conv('conv_last', h.inChans, nf, 3);
  } else if (h.upsampler === 'pixelshuffledirect') {
    conv('upsample.0', h.scale ** 2 * h.inChans, E, 3);
  } else {
    conv('conv_before_upsample.0', nf, E, 3);
    for (let k = 1; 2 ** k <= h.scale; k++) conv(`conv_up${k}`, nf, nf, 3);
    conv('conv_hr', nf, nf, 3);
    conv('conv_last', h.inChans, nf, 3);
  }
  return shapes;
}

/** The buffers: each block's relative_position_index (its values too), a shifted block's attn_mask. */
function checkBuffers(stateDict: StateDict, h: SwinirHyperparameters, problems: string[], expected: Set<string>): void {
  const n = h.windowSize ** 2;
  const index = relativePositionIndex(h.windowSize);
  const nW = (h.imgSize / h.windowSize) ** 2;
  h.depths.forEach((depth, i) => {
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.residual_group.blocks.${j}`;
      const name = `${p}.attn.relative_position_index`;
      expected.add(name);
      const entry = stateDict.get(name);
      if (!entry) {
        problems.push(`missing tensor ${name} (expected shape ${fmt([n, n])})`);
      } else if (entry.shape.length !== 2 || entry.shape[0] !== n || entry.shape[1] !== n) {
        problems.push(`tensor ${name} has shape ${fmt(entry.shape)}, expected ${fmt([n, n])}`);
      } else if (!Array.from(entry.data as ArrayLike<number | bigint>, Number).every((v, k) => v === index[k])) {
        problems.push(`tensor ${name} is not the relative position index of a ${h.windowSize}x${h.windowSize} window`);
      }
      const mask = `${p}.attn_mask`;
      if (stateDict.has(mask)) {
        expected.add(mask);
        const shape = stateDict.get(mask)!.shape;
        if (!isShifted(h, j) || shape.length !== 3 || shape[0] !== nW || shape[1] !== n || shape[2] !== n) {
          problems.push(`tensor ${mask} has shape ${fmt(shape)}, expected ${isShifted(h, j) ? fmt([nW, n, n]) : 'none (an unshifted block)'}`);
        }
      }
    }
  });
}

function upsamplerOf(stateDict: StateDict): SwinirUpsampler | undefined {
  if (stateDict.has('conv_before_upsample.0.weight')) return stateDict.has('conv_up1.weight') ? 'nearest+conv' : 'pixelshuffle';
  if (stateDict.has('upsample.0.weight')) return 'pixelshuffledirect';
  return undefined;
}

/** SwinIR hyperparameters when the names say SwinIR (spandrel's rule), undefined otherwise; throws on bad shapes. */
export function detectSwinir(stateDict: StateDict, overrides: ArchitectureOverrides = {}): SwinirHyperparameters | undefined {
  const named = [`${BLOCK0}.norm1.weight`, `${BLOCK0}.mlp.fc1.bias`, `${BLOCK0}.attn.relative_position_index`].every((k) => stateDict.has(k));
  if (!named || !(stateDict.has('conv_first.weight') || stateDict.has('conv_first.1.weight'))) return undefined;
  const keys = [...stateDict.keys()];
  if (keys.some((k) => OTHER_SWIN.test(k))) return undefined;
  if (stateDict.has('conv_first.1.weight')) {
    throw new UnsupportedArchitectureError(
      `${SWINIR_ARCHITECTURE} with a pixel-unshuffled input (tensor conv_first.1.weight) is not supported`,
      { details: { architecture: SWINIR_ARCHITECTURE, tensors: ['conv_first.1.weight'] } },
    );
  }
  const upsampler = upsamplerOf(stateDict);
  if (!upsampler) {
    throw new UnsupportedArchitectureError(
      `${SWINIR_ARCHITECTURE} without an upsampler (denoising or JPEG artifact removal: no conv_before_upsample or upsample tensors) ` +
        'is not supported: only the super-resolution models are converted',
      { details: { architecture: SWINIR_ARCHITECTURE, upsampler: '' } },
    );
  }
  const unknown = keys.filter((k) => !NAMES.some((re) => re.test(k)));
  if (unknown.length > 0) {
    throw new UnsupportedArchitectureError(`Not a ${SWINIR_ARCHITECTURE} state dict as superres knows it: unexpected tensors ${listNames(unknown)}`, {
      details: { architecture: SWINIR_ARCHITECTURE, unexpected: unknown },
    });
  }

  const first = shapeOf(stateDict, 'conv_first.weight', '[embed_dim, 3, 3, 3]');
  if (first.length !== 4 || first[1] !== 3 || first[2] !== 3 || first[3] !== 3 || first[0]! < 1) {
    bad('conv_first.weight', first, '[embed_dim, 3, 3, 3] (RGB models only)');
  }
  const embedDim = first[0]!;
  const indexName = `${BLOCK0}.attn.relative_position_index`;
  const index = shapeOf(stateDict, indexName, '[ws^2, ws^2]');
  const windowSize = Math.round(Math.sqrt(index[0] ?? 0));
  if (index.length !== 2 || windowSize < 1 || windowSize ** 2 !== index[0] || index[1] !== index[0]) {
    bad(indexName, index, '[ws^2, ws^2] for a window size ws');
  }
  const fc1Name = `${BLOCK0}.mlp.fc1.weight`;
  const fc1 = shapeOf(stateDict, fc1Name, `[hidden, ${embedDim}]`);
  if (fc1.length !== 2 || fc1[1] !== embedDim || fc1[0]! < 1) bad(fc1Name, fc1, `[hidden, ${embedDim}]`);
  const mlpRatio = fc1[0]! / embedDim;

  const layers = countIndices(stateDict, 'layers');
  const depths: number[] = [];
  const numHeads: number[] = [];
  for (let i = 0; i < layers; i++) {
    const depth = countIndices(stateDict, `layers.${i}.residual_group.blocks`);
    if (depth < 1) throw new BadCheckpointError(`${SWINIR_ARCHITECTURE}: layer ${i} has no blocks (no tensor layers.${i}.residual_group.blocks.0.*)`);
    depths.push(depth);
    const tableName = `layers.${i}.residual_group.blocks.0.attn.relative_position_bias_table`;
    const table = shapeOf(stateDict, tableName, `[${(2 * windowSize - 1) ** 2}, heads]`);
    const heads = table[1] ?? 0;
    if (table.length !== 2 || table[0] !== (2 * windowSize - 1) ** 2 || heads < 1 || embedDim % heads !== 0) {
      bad(tableName, table, `[${(2 * windowSize - 1) ** 2}, heads] with heads dividing ${embedDim}`);
    }
    numHeads.push(heads);
  }

  const maskName = 'layers.0.residual_group.blocks.1.attn_mask';
  let imgSize = DEFAULT_IMG_SIZE;
  if (stateDict.has(maskName)) {
    const mask = stateDict.get(maskName)!.shape;
    const side = Math.round(Math.sqrt(mask[0] ?? 0));
    if (mask.length !== 3 || side < 2 || side * side !== mask[0]) bad(maskName, mask, `[nW, ${windowSize ** 2}, ${windowSize ** 2}] with nW a square > 1`);
    imgSize = side * windowSize;
  }
  if (imgSize <= windowSize) {
    throw new UnsupportedArchitectureError(`${SWINIR_ARCHITECTURE} trained on patches no larger than its window is not supported`);
  }

  const resiConnection: SwinirResiConnection = stateDict.has('conv_after_body.weight') ? '1conv' : '3conv';
  let scale: number;
  let numFeat: number | undefined;
  if (upsampler === 'pixelshuffledirect') {
    const up = shapeOf(stateDict, 'upsample.0.weight', `[3 * scale^2, ${embedDim}, 3, 3]`);
    scale = Math.round(Math.sqrt((up[0] ?? 0) / 3));
    if (up.length !== 4 || scale < 1 || up[0] !== 3 * scale * scale || up[1] !== embedDim) {
      bad('upsample.0.weight', up, `[3 * scale^2, ${embedDim}, 3, 3]`);
    }
  } else {
    const before = shapeOf(stateDict, 'conv_before_upsample.0.weight', `[num_feat, ${embedDim}, 3, 3]`);
    if (before.length !== 4 || before[0]! < 1 || before[1] !== embedDim) bad('conv_before_upsample.0.weight', before, `[num_feat, ${embedDim}, 3, 3]`);
    numFeat = before[0]!;
    if (upsampler === 'nearest+conv') {
      const ups = countConvUps(stateDict);
      if (ups < 1 || ups > 3) throw new BadCheckpointError(`${SWINIR_ARCHITECTURE}: conv_up1..conv_up${ups}: expected 1 to 3 (x2, x4, x8)`);
      scale = 2 ** ups;
    } else {
      const up = shapeOf(stateDict, 'upsample.0.weight', `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);
      const steps = countIndices(stateDict, 'upsample');
      if (up[0] === 9 * numFeat) scale = 3;
      else if (up[0] === 4 * numFeat) scale = 2 ** Math.ceil(steps / 2);
      else bad('upsample.0.weight', up, `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);
    }
  }
  const h: SwinirHyperparameters = {
    inChans: 3,
    embedDim,
    depths,
    numHeads,
    windowSize,
    mlpRatio,
    scale,
    imgRange: windowSize === 7 ? 255 : 1,
    upsampler,
    resiConnection,
    ...(numFeat === undefined ? {} : { numFeat }),
    imgSize,
    patchNorm: stateDict.has('patch_embed.norm.weight'),
  };

  const expected = expectedShapes(h);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  const known = new Set(expected.keys());
  checkBuffers(stateDict, h, problems, known);
  const unexpected = keys.filter((k) => !known.has(k));
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${SWINIR_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
  checkRgbUpscalerOverrides(SWINIR_ARCHITECTURE, overrides, scale);
  return h;
}

function countConvUps(stateDict: StateDict): number {
  let n = 0;
  while (stateDict.has(`conv_up${n + 1}.weight`)) n++;
  return n;
}


// ---- geometry and cost -----------------------------------------------------------------------

/**
 * The tile pad superres uses: MEASURED, not exact. SwinIR is not tile-exact at any pad: its
 * windows are aligned to each (padded) tile, the shifted windows wrap around the tile, and each
 * Swin block reaches up to a window further. tools/reference/make_swinir_fixtures.py scans tile
 * pads (tile 16, RealESRGANer's tiling, pads rounded up to the alignment) on the fixture input and
 * on a larger one, and records in manifest.json the smallest multiple of the window size from
 * which every larger multiple keeps the 8-bit output within 1/255 of the whole image: 12, 12 and
 * 16 for the three random-weight fixtures (window 4, 4 Swin blocks). A pad (or tile) that is not a
 * multiple of the window shifts the tile's window grid against the image's and stays far off at
 * any size. The radius is one window per Swin block: window_size x sum(depths), at least every
 * measured pad (16 for the fixtures); published models (36 blocks, window 8) get 288, which the
 * automatic tile pad caps.
 */
export function swinirReceptiveRadius(h: SwinirHyperparameters): number {
  return h.windowSize * h.depths.reduce((a, b) => a + b, 0);
}

export function swinirGeometry(h: SwinirHyperparameters): ArchitectureGeometry {
  const E = h.embedDim;
  const heads = Math.max(...h.numHeads);
  return {
    scale: h.scale,
    alignment: referenceAlignment(h.scale),
    receptiveRadius: swinirReceptiveRadius(h),
    // Tiles keep the image's window grid: a tile or pad off the grid shifts every window.
    tileMultiple: h.windowSize,
    workingBytesPerPixel: workingBytesPerPixel({
      // The widest per-token stage: q, k, v (3 E), the MLP's hidden features, each head's window of
      // attention scores, or the upsampler's features at their resolution.
      widestChannels: Math.max(3 * E, Math.round(E * h.mlpRatio), heads * h.windowSize ** 2, (h.numFeat ?? 0) * h.scale ** 2),
      inChannels: 3,
      outChannels: 3,
      scale: h.scale,
    }),
  };
}

/**
 * Multiply-accumulates per output pixel: convolutions and linear layers, and the attention at its
 * window (q k^T and attn v: ws^2 x embed_dim each per token). Norms, softmax and GELU left out.
 */
export function swinirMacsPerOutputPixel(h: SwinirHyperparameters): number {
  const E = h.embedDim;
  const n = h.windowSize ** 2;
  const hidden = Math.round(E * h.mlpRatio);
  const q = Math.floor(E / 4);
  const resi = h.resiConnection === '1conv' ? 9 * E * E : 9 * E * q + q * q + 9 * q * E;
  const blocks = h.depths.reduce((a, b) => a + b, 0);
  let macs = 9 * 3 * E + blocks * (3 * E * E + 2 * n * E + E * E + 2 * E * hidden) + (h.depths.length + 1) * resi;
  const nf = h.numFeat ?? 0;
  const s2 = h.scale ** 2;
  if (h.upsampler === 'pixelshuffledirect') {
    macs += 9 * E * 3 * s2;
  } else if (h.upsampler === 'pixelshuffle') {
    macs += 9 * E * nf;
    if (h.scale === 3) macs += 9 * nf * 9 * nf;
    else for (let area = 1; area < s2; area *= 4) macs += area * 9 * nf * 4 * nf;
    macs += s2 * 9 * nf * 3;
  } else {
    macs += 9 * E * nf;
    for (let area = 4; area <= s2; area *= 4) macs += area * 9 * nf * nf;
    macs += s2 * (9 * nf * nf + 9 * nf * 3);
  }
  return macs / s2;
}

// ---- ONNX graph ------------------------------------------------------------------------------

const INT_MAX = 2n ** 62n;

/** Shared ONNX helpers (also used by hat.ts). */
export class SwinirGraph {
  readonly g: OnnxGraphBuilder;
  private scalars = new Map<number, string>();
  private ints = new Map<string, string>();

  constructor(
    readonly stateDict: StateDict,
    name: string = SWINIR_ARCHITECTURE,
  ) {
    this.g = new OnnxGraphBuilder(name);
  }

  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (!name) {
      name = `const.f${this.scalars.size}`;
      this.g.initializer(name, [], new Float32Array([value]));
      this.scalars.set(value, name);
    }
    return name;
  }

  /** A 1-D int64 constant (dims [] when `scalar`), shared. */
  int64(values: readonly (number | bigint)[], scalar = false): string {
    const key = `${scalar ? 's' : 'v'}:${values.join(',')}`;
    let name = this.ints.get(key);
    if (!name) {
      name = `const.i${this.ints.size}`;
      this.g.initializer(name, scalar ? [] : [values.length], new BigInt64Array(values.map((v) => BigInt(v))));
      this.ints.set(key, name);
    }
    return name;
  }

  /** nn.Conv2d with 'same' padding (odd kernels); `group` for depthwise convolutions. */
  conv(prefix: string, x: string, out = prefix, group = 1): string {
    for (const param of ['weight', 'bias']) {
      const t = floatTensor(this.stateDict, `${prefix}.${param}`);
      this.g.initializer(`${prefix}.${param}`, t.shape, t.data);
    }
    const k = this.stateDict.get(`${prefix}.weight`)!.shape[2]!;
    const p = Math.floor(k / 2);
    this.g.node('Conv', [x, `${prefix}.weight`, `${prefix}.bias`], [out], {
      kernel_shape: attr.ints([k, k]),
      pads: attr.ints([p, p, p, p]),
      strides: attr.ints([1, 1]),
      dilations: attr.ints([1, 1]),
      group: attr.int(group),
    });
    return out;
  }

  leakyRelu(x: string, alpha: number, out: string): string {
    this.g.node('LeakyRelu', [x], [out], { alpha: attr.float(alpha) });
    return out;
  }

  /** nn.Linear over the last axis: x W^T + b (W^T stored; no b where the state dict has none). */
  linear(prefix: string, x: string, out = prefix): string {
    const w = floatTensor(this.stateDict, `${prefix}.weight`);
    const [rows, cols] = w.shape as [number, number];
    const t = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w.data[r * cols + c]!;
    this.g.initializer(`${prefix}.weight_t`, [cols, rows], t);
    if (!this.stateDict.has(`${prefix}.bias`)) {
      this.g.node('MatMul', [x, `${prefix}.weight_t`], [out]);
      return out;
    }
    const b = floatTensor(this.stateDict, `${prefix}.bias`);
    this.g.initializer(`${prefix}.bias`, b.shape, b.data);
    this.g.node('MatMul', [x, `${prefix}.weight_t`], [`${out}.matmul`]);
    this.g.node('Add', [`${out}.matmul`, `${prefix}.bias`], [out]);
    return out;
  }

  /** nn.LayerNorm over the last axis, in PyTorch's order (biased variance, eps 1e-5). */
  layerNorm(prefix: string, x: string, out: string): string {
    const g = this.g;
    g.node('ReduceMean', [x], [`${out}.mean`], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    g.node('Sub', [x, `${out}.mean`], [`${out}.centred`]);
    g.node('Mul', [`${out}.centred`, `${out}.centred`], [`${out}.squared`]);
    g.node('ReduceMean', [`${out}.squared`], [`${out}.var`], { axes: attr.ints([-1]), keepdims: attr.int(1) });
    g.node('Add', [`${out}.var`, this.scalar(LAYER_NORM_EPS)], [`${out}.var_eps`]);
    g.node('Sqrt', [`${out}.var_eps`], [`${out}.std`]);
    g.node('Div', [`${out}.centred`, `${out}.std`], [`${out}.normalised`]);
    for (const param of ['weight', 'bias']) {
      const t = floatTensor(this.stateDict, `${prefix}.${param}`);
      g.initializer(`${prefix}.${param}`, t.shape, t.data);
    }
    g.node('Mul', [`${out}.normalised`, `${prefix}.weight`], [`${out}.scaled`]);
    g.node('Add', [`${out}.scaled`, `${prefix}.bias`], [out]);
    return out;
  }

  /** torch GELU (exact). */
  gelu(x: string, out: string): string {
    return exactGelu(this.g, (v) => this.scalar(v), x, out);
  }

  /** torch.roll(x, shifts, dims=(1, 2)) on NHWC: slices and concatenations (shifts may be negative; one number for both axes). */
  roll(x: string, shifts: number | readonly [number, number], out: string): string {
    let y = x;
    for (const axis of [1, 2]) {
      const name = `${out}.axis${axis}`;
      const shift = typeof shifts === 'number' ? shifts : shifts[axis - 1]!;
      if (shift === 0) continue;
      // roll by -s: x[s:] then x[:s]; by +s: x[-s:] then x[:-s].
      const cut = -shift;
      this.g.node('Slice', [y, this.int64([cut]), this.int64([INT_MAX]), this.int64([axis])], [`${name}.tail`]);
      this.g.node('Slice', [y, this.int64([0]), this.int64([cut]), this.int64([axis])], [`${name}.head`]);
      this.g.node('Concat', [`${name}.tail`, `${name}.head`], [name], { axis: attr.int(axis) });
      y = name;
    }
    return y;
  }
}

/** Runtime sizes, all int64 [1]: the padded H, W and the window grid. */
export interface Sizes {
  H: string;
  W: string;
  Hp: string;
  Wp: string;
  nh: string;
  nw: string;
  nW: string;
}

/** A window's shape and roll (rows, columns), and the window grid's runtime size (int64 [1] each). */
export interface ShiftedWindows {
  readonly name: string;
  readonly hs: number;
  readonly ws: number;
  readonly sh: number;
  readonly sw: number;
  readonly nh: string;
  readonly nw: string;
}

/** The shift mask's four window patterns [4, N, N]: interior, last column, last row, corner. */
function maskPatterns(hs: number, ws: number, sh: number, sw: number): Float32Array {
  const n = hs * ws;
  const out = new Float32Array(4 * n * n);
  const region = (pos: number, size: number, shift: number, last: boolean) => (!last ? 0 : pos < size - shift ? 1 : 2);
  for (let p = 0; p < 4; p++) {
    const lastRow = p >= 2;
    const lastCol = p % 2 === 1;
    const label = (t: number) => region(Math.floor(t / ws), hs, sh, lastRow) * 3 + region(t % ws, ws, sw, lastCol);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[(p * n + i) * n + j] = label(i) === label(j) ? 0 : MASK_VALUE;
  }
  return out;
}

/**
 * The shift mask for the padded size being run, [nW, 1, N, N]. Upstream's calculate_mask labels
 * the rolled image in 3 x 3 regions cut at H - ws and H - shift (and W likewise): every window
 * but those of the last window row and column lies in region 0, so a window's mask depends only on
 * whether it is in the last row and whether it is in the last column. The graph picks one of the
 * four patterns per window from the grid size (Range, Equal, Gather).
 */
export function shiftMask(graph: SwinirGraph, h: Pick<SwinirHyperparameters, 'windowSize'>, sizes: Sizes): string {
  const ws = h.windowSize;
  const shift = Math.floor(ws / 2);
  return windowShiftMask(graph, { name: 'mask', hs: ws, ws, sh: shift, sw: shift, nh: sizes.nh, nw: sizes.nw });
}

/** shiftMask for rectangular windows and per-axis shifts (DAT's two window shapes): [nW, 1, N, N] named `w.name`. */
export function windowShiftMask(graph: SwinirGraph, w: ShiftedWindows): string {
  const g = graph.g;
  const n = w.hs * w.ws;
  const m = w.name;
  g.initializer(`${m}.patterns`, [4, n, n], maskPatterns(w.hs, w.ws, w.sh, w.sw));
  const one = graph.int64([1], true);
  const zero = graph.int64([0], true);
  const flags: string[] = [];
  for (const [axis, count, weight, unsqueeze] of [
    ['row', w.nh, 2, 1],
    ['col', w.nw, 1, 0],
  ] as const) {
    g.node('Squeeze', [count], [`${m}.${axis}.count`]);
    g.node('Range', [zero, `${m}.${axis}.count`, one], [`${m}.${axis}.index`]);
    g.node('Sub', [`${m}.${axis}.count`, one], [`${m}.${axis}.last_index`]);
    g.node('Equal', [`${m}.${axis}.index`, `${m}.${axis}.last_index`], [`${m}.${axis}.is_last`]);
    g.node('Cast', [`${m}.${axis}.is_last`], [`${m}.${axis}.flag`], { to: attr.int(7) });
    g.node('Mul', [`${m}.${axis}.flag`, graph.int64([weight], true)], [`${m}.${axis}.weighted`]);
    g.node('Unsqueeze', [`${m}.${axis}.weighted`, graph.int64([unsqueeze])], [`${m}.${axis}.grid`]);
    flags.push(`${m}.${axis}.grid`);
  }
  g.node('Add', [flags[0]!, flags[1]!], [`${m}.pattern_grid`]);
  g.node('Reshape', [`${m}.pattern_grid`, graph.int64([-1])], [`${m}.pattern`]);
  g.node('Gather', [`${m}.patterns`, `${m}.pattern`], [`${m}.windows`], { axis: attr.int(0) });
  g.node('Unsqueeze', [`${m}.windows`, graph.int64([1])], [m]);
  return m;
}

/** The relative position bias of one block, gathered at build time: [heads, N, N]. */
export function positionBias(stateDict: StateDict, prefix: string, ws: number, heads: number): Float32Array {
  const table = floatTensor(stateDict, `${prefix}.relative_position_bias_table`).data;
  const index = relativePositionIndex(ws);
  const n = ws * ws;
  const out = new Float32Array(heads * n * n);
  for (let hd = 0; hd < heads; hd++) for (let k = 0; k < n * n; k++) out[hd * n * n + k] = table[index[k]! * heads + hd]!;
  return out;
}

/**
 * One Swin block on NHWC tokens. `extra` (HAT's CAB) gets norm1's output and returns a term added
 * with the attention to the residual.
 */
export function swinBlock(
  graph: SwinirGraph,
  h: Pick<SwinirHyperparameters, 'embedDim' | 'windowSize'>,
  x: string,
  p: string,
  heads: number,
  shifted: boolean,
  sizes: Sizes,
  mask: string | undefined,
  extra?: (normed: string) => string,
): string {
  const { g } = graph;
  const E = h.embedDim;
  const ws = h.windowSize;
  const n = ws * ws;
  const hd = E / heads;
  const shift = Math.floor(ws / 2);
  let y = graph.layerNorm(`${p}.norm1`, x, `${p}.norm1`);
  const extraTerm = extra?.(y);
  if (shifted) y = graph.roll(y, -shift, `${p}.roll`);
  // Window partition: [B, nh, ws, nw, ws, E] -> [B, nh, nw, ws, ws, E] -> [B nW, N, E].
  g.node('Concat', [graph.int64([-1]), sizes.nh, graph.int64([ws]), sizes.nw, graph.int64([ws, E])], [`${p}.grid_shape`], { axis: attr.int(0) });
  g.node('Reshape', [y, `${p}.grid_shape`], [`${p}.grid`]);
  g.node('Transpose', [`${p}.grid`], [`${p}.grid_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Reshape', [`${p}.grid_t`, graph.int64([-1, n, E])], [`${p}.windows`]);
  // Attention.
  const a = `${p}.attn`;
  graph.linear(`${a}.qkv`, `${p}.windows`);
  g.node('Reshape', [`${a}.qkv`, graph.int64([0, 0, 3, heads, hd])], [`${a}.qkv5`]);
  g.node('Transpose', [`${a}.qkv5`], [`${a}.qkv_t`], { perm: attr.ints([2, 0, 3, 1, 4]) });
  for (const [i, part] of ['q', 'k', 'v'].entries()) {
    g.node('Gather', [`${a}.qkv_t`, graph.int64([i], true)], [`${a}.${part}`], { axis: attr.int(0) });
  }
  g.node('Mul', [`${a}.q`, graph.scalar(hd ** -0.5)], [`${a}.q_scaled`]);
  g.node('Transpose', [`${a}.k`], [`${a}.k_t`], { perm: attr.ints([0, 1, 3, 2]) });
  g.node('MatMul', [`${a}.q_scaled`, `${a}.k_t`], [`${a}.scores`]);
  g.initializer(`${a}.position_bias`, [heads, n, n], positionBias(graph.stateDict, a, ws, heads));
  g.node('Add', [`${a}.scores`, `${a}.position_bias`], [`${a}.biased`]);
  let scores = `${a}.biased`;
  if (shifted && mask) {
    g.node('Concat', [graph.int64([-1]), sizes.nW, graph.int64([heads, n, n])], [`${a}.by_window_shape`], { axis: attr.int(0) });
    g.node('Reshape', [scores, `${a}.by_window_shape`], [`${a}.by_window`]);
    g.node('Add', [`${a}.by_window`, mask], [`${a}.masked`]);
    g.node('Reshape', [`${a}.masked`, graph.int64([-1, heads, n, n])], [`${a}.masked4`]);
    scores = `${a}.masked4`;
  }
  g.node('Softmax', [scores], [`${a}.weights`], { axis: attr.int(-1) });
  g.node('MatMul', [`${a}.weights`, `${a}.v`], [`${a}.mixed`]);
  g.node('Transpose', [`${a}.mixed`], [`${a}.mixed_t`], { perm: attr.ints([0, 2, 1, 3]) });
  g.node('Reshape', [`${a}.mixed_t`, graph.int64([0, 0, E])], [`${a}.merged`]);
  graph.linear(`${a}.proj`, `${a}.merged`);
  // Window reverse: [B, nh, nw, ws, ws, E] -> [B, nh, ws, nw, ws, E] -> [B, Hp, Wp, E].
  g.node('Concat', [graph.int64([-1]), sizes.nh, sizes.nw, graph.int64([ws, ws, E])], [`${p}.back_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${a}.proj`, `${p}.back_shape`], [`${p}.back`]);
  g.node('Transpose', [`${p}.back`], [`${p}.back_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Concat', [graph.int64([-1]), sizes.Hp, sizes.Wp, graph.int64([E])], [`${p}.image_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.back_t`, `${p}.image_shape`], [`${p}.image`]);
  let attended = `${p}.image`;
  if (shifted) attended = graph.roll(attended, shift, `${p}.unroll`);
  if (extraTerm) {
    g.node('Add', [x, attended], [`${p}.x1_attn`]);
    g.node('Add', [`${p}.x1_attn`, extraTerm], [`${p}.x1`]);
  } else {
    g.node('Add', [x, attended], [`${p}.x1`]);
  }
  graph.layerNorm(`${p}.norm2`, `${p}.x1`, `${p}.norm2`);
  graph.linear(`${p}.mlp.fc1`, `${p}.norm2`);
  graph.gelu(`${p}.mlp.fc1`, `${p}.mlp.act`);
  graph.linear(`${p}.mlp.fc2`, `${p}.mlp.act`);
  g.node('Add', [`${p}.x1`, `${p}.mlp.fc2`], [p]);
  return p;
}

/** '1conv' or '3conv' on an NCHW image. */
export function resiConv(graph: SwinirGraph, h: Pick<SwinirHyperparameters, 'resiConnection'>, prefix: string, x: string): string {
  if (h.resiConnection === '1conv') return graph.conv(prefix, x);
  let y = graph.conv(`${prefix}.0`, x);
  y = graph.leakyRelu(y, 0.2, `${prefix}.1`);
  y = graph.conv(`${prefix}.2`, y);
  y = graph.leakyRelu(y, 0.2, `${prefix}.3`);
  return graph.conv(`${prefix}.4`, y);
}

function pixelShuffle(graph: SwinirGraph, x: string, factor: number, out: string): string {
  graph.g.node('DepthToSpace', [x], [out], { blocksize: attr.int(factor), mode: attr.string('CRD') });
  return out;
}

export function upsample(graph: SwinirGraph, h: Pick<SwinirHyperparameters, 'upsampler' | 'scale'>, f: string): string {
  const { g } = graph;
  if (h.upsampler === 'pixelshuffledirect') return pixelShuffle(graph, graph.conv('upsample.0', f), h.scale, 'upsample.1');
  let x = graph.leakyRelu(graph.conv('conv_before_upsample.0', f), 0.01, 'conv_before_upsample.1');
  if (h.upsampler === 'pixelshuffle') {
    const steps = h.scale === 3 ? [3] : Array.from({ length: Math.log2(h.scale) }, () => 2);
    steps.forEach((factor, k) => {
      x = pixelShuffle(graph, graph.conv(`upsample.${2 * k}`, x), factor, `upsample.${2 * k + 1}`);
    });
    return graph.conv('conv_last', x);
  }
  g.initializer('nearest_scales', [4], new Float32Array([1, 1, 2, 2]));
  for (let k = 1; 2 ** k <= h.scale; k++) {
    g.node('Resize', [x, '', 'nearest_scales'], [`up${k}.nearest`], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
    x = graph.leakyRelu(graph.conv(`conv_up${k}`, `up${k}.nearest`), 0.2, `conv_up${k}.act`);
  }
  x = graph.leakyRelu(graph.conv('conv_hr', x), 0.2, 'conv_hr.act');
  return graph.conv('conv_last', x);
}

/** Reflect-pads `input` right/bottom to a multiple of ws (into `padded`); the runtime sizes H, W, Hp, Wp, nh, nw, nW. */
export function padToWindow(graph: SwinirGraph, ws: number): Sizes {
  const { g } = graph;
  // The padded size, from the input's shape: Hp = H + (ws - H % ws) % ws.
  g.node('Shape', ['input'], ['input.shape']);
  const sizes = {} as Sizes;
  for (const [axis, size, padded, grid] of [
    [2, 'H', 'Hp', 'nh'],
    [3, 'W', 'Wp', 'nw'],
  ] as const) {
    g.node('Slice', ['input.shape', graph.int64([axis]), graph.int64([axis + 1]), graph.int64([0])], [size]);
    g.node('Mod', [size, graph.int64([ws])], [`${size}.rem`]);
    g.node('Sub', [graph.int64([ws]), `${size}.rem`], [`${size}.to_next`]);
    g.node('Mod', [`${size}.to_next`, graph.int64([ws])], [`${size}.pad`]);
    g.node('Add', [size, `${size}.pad`], [padded]);
    g.node('Div', [padded, graph.int64([ws])], [grid]);
    sizes[size] = size;
    sizes[padded] = padded;
    sizes[grid] = grid;
  }
  g.node('Mul', [sizes.nh, sizes.nw], ['nW']);
  sizes.nW = 'nW';
  g.node('Concat', [graph.int64([0, 0, 0, 0, 0, 0]), 'H.pad', 'W.pad'], ['pads'], { axis: attr.int(0) });
  g.node('Pad', ['input', 'pads'], ['padded'], { mode: attr.string('reflect') });
  return sizes;
}

/** The ONNX graph: input `input` [N, 3, H, W] (dynamic N, H, W), output `output` [N, 3, H s, W s]. */
type SwinFrame = Pick<SwinirHyperparameters, 'windowSize' | 'imgRange' | 'patchNorm' | 'depths' | 'imgSize' | 'upsampler' | 'scale'>;

/**
 * The part SwinIR and HAT share before their residual groups: the input padded to the window,
 * centred and scaled, the shallow convolution, its tokens (NHWC), and the shift mask.
 */
export function swinEntry(graph: SwinirGraph, h: SwinFrame): { first: string; tokens: string; sizes: Sizes; mask: string | undefined } {
  const { g } = graph;
  const ws = h.windowSize;
  g.input('input', 'float32', ['N', 3, 'H', 'W']);
  const sizes = padToWindow(graph, ws);
  g.initializer('mean', [1, 3, 1, 1], new Float32Array(RGB_MEAN));
  g.node('Sub', ['padded', 'mean'], ['centred']);
  let x = 'centred';
  if (h.imgRange !== 1) {
    g.node('Mul', [x, graph.scalar(h.imgRange)], ['ranged']);
    x = 'ranged';
  }
  const first = graph.conv('conv_first', x);
  // Tokens as NHWC (flatten(2).transpose(1, 2) in row-major order).
  g.node('Transpose', [first], ['tokens'], { perm: attr.ints([0, 2, 3, 1]) });
  const tokens = h.patchNorm ? graph.layerNorm('patch_embed.norm', 'tokens', 'patch_embed.norm') : 'tokens';
  const anyShift = h.depths.some((d) => d > 1) && h.imgSize > ws;
  return { first, tokens, sizes, mask: anyShift ? shiftMask(graph, h, sizes) : undefined };
}

/**
 * The part they share after: norm, back to NCHW, the body convolution (`bodyConv`, or none),
 * the skip from the shallow features, the upsampler, un-centring, the crop of the window padding,
 * and the model with its metadata.
 */
export function swinExit(
  graph: SwinirGraph,
  h: Pick<SwinFrame, 'imgRange' | 'upsampler' | 'scale'>,
  tokens: string,
  first: string,
  bodyConv: (features: string) => string,
  described: { architecture: string; docString: string; geometry: ArchitectureGeometry; hyperparameters: object },
): Uint8Array {
  const { g } = graph;
  graph.layerNorm('norm', tokens, 'norm');
  g.node('Transpose', ['norm'], ['features'], { perm: attr.ints([0, 3, 1, 2]) });
  g.node('Add', [bodyConv('features'), first], ['body']);
  let out = upsample(graph, h, 'body');
  if (h.imgRange !== 1) {
    g.node('Div', [out, graph.scalar(h.imgRange)], ['unranged']);
    out = 'unranged';
  }
  g.node('Add', [out, 'mean'], ['restored']);
  // Crop the window padding: [.., :H s, :W s].
  g.node('Concat', ['H', 'W'], ['size'], { axis: attr.int(0) });
  g.node('Mul', ['size', graph.int64([h.scale])], ['out_size']);
  g.node('Slice', ['restored', graph.int64([0, 0]), 'out_size', graph.int64([2, 3])], ['output']);
  g.output('output', 'float32', ['N', 3, 'H_out', 'W_out']);
  const { geometry } = described;
  return g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: described.docString,
    metadata: {
      architecture: described.architecture,
      hyperparameters: JSON.stringify(described.hyperparameters),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
}

export function buildSwinirOnnx(stateDict: StateDict, h: SwinirHyperparameters): Uint8Array {
  const graph = new SwinirGraph(stateDict);
  const { g } = graph;
  const { first, tokens, sizes, mask } = swinEntry(graph, h);
  let t = tokens;
  h.depths.forEach((depth, i) => {
    const layerIn = t;
    for (let j = 0; j < depth; j++) {
      t = swinBlock(graph, h, t, `layers.${i}.residual_group.blocks.${j}`, h.numHeads[i]!, isShifted(h, j), sizes, mask);
    }
    g.node('Transpose', [t], [`layers.${i}.image`], { perm: attr.ints([0, 3, 1, 2]) });
    const conv = resiConv(graph, h, `layers.${i}.conv`, `layers.${i}.image`);
    g.node('Transpose', [conv], [`layers.${i}.tokens`], { perm: attr.ints([0, 2, 3, 1]) });
    g.node('Add', [`layers.${i}.tokens`, layerIn], [`layers.${i}`]);
    t = `layers.${i}`;
  });
  return swinExit(graph, h, t, first, (features) => resiConv(graph, h, 'conv_after_body', features), {
    architecture: SWINIR_ARCHITECTURE,
    docString: `${SWINIR_ARCHITECTURE} x${h.scale} (${h.upsampler}, depths [${h.depths.join(', ')}], embed_dim ${h.embedDim}, window ${h.windowSize}), converted from a PyTorch state dict by superres`,
    geometry: swinirGeometry(h),
    hyperparameters: h,
  });
}

// ---- registry module -------------------------------------------------------------------------

export const swinirArchitecture: Architecture<SwinirHyperparameters> = {
  name: SWINIR_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^conv_first\.(weight|bias)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.norm1\.(weight|bias)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.attn\.relative_position_(bias_table|index)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.attn\.(qkv|proj)\.(weight|bias)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.mlp\.fc[12]\.(weight|bias)$/,
    /^layers\.\d+\.conv\.(\d\.)?(weight|bias)$/,
    /^conv_after_body\.(\d\.)?(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectSwinir(stateDict, overrides),
  geometry: swinirGeometry,
  macsPerOutputPixel: swinirMacsPerOutputPixel,
  build: (stateDict, hyper) => buildSwinirOnnx(stateDict, hyper),
};
