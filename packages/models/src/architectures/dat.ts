/**
 * DAT, Dual Aggregation Transformer ("Dual Aggregation Transformer for Image Super-Resolution",
 * ICCV 2023, arXiv 2308.03364; the authors' zhengchen1999/DAT `basicsr/archs/dat_arch.py`, detected
 * as spandrel's `architectures/DAT/__init__.py` does): hyperparameters read from a state dict,
 * geometry, cost, and the ONNX graph. tools/reference/dat_arch.py is the PyTorch reference and
 * says the forward pass in full.
 *
 * In short: (x - mean) * img_range; f = conv_first(x); tokens (NHWC here), LayerNorm `before_RG.1`;
 * residual groups `layers.i` (blocks, then `conv` '1conv' or '3conv' on the image, + the group's
 * input); `norm`; conv_after_body + f; 'pixelshuffle' or 'pixelshuffledirect'; / img_range + mean.
 * Even blocks attend spatially (two channel halves in split_size[0] x split_size[1] and
 * split_size[1] x split_size[0] windows, q, k, v zero-padded to max(split_size), some blocks
 * shifted, a position bias from a small MLP, computed here at build time), odd blocks across
 * channels (per head, over every token); both mix in a depthwise-conv branch through a channel
 * and a spatial map; the feed-forward is SGFN (a gated half through LayerNorm and a depthwise 3x3).
 */
import { BadCheckpointError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { attr } from '../onnx/onnx-graph.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { referenceAlignment } from './srvgg.js';
import { RGB_MEAN, SwinirGraph, resiConv, swinExit, windowShiftMask } from './swinir.js';
import { l2Normalize } from './graph-ops.js';
import { checkRgbUpscalerOverrides } from './overrides.js';
import { countIndices, floatTensor, fmt, listNames, shapeErrors, tensorProblem, type ShapeErrors } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const DAT_ARCHITECTURE = 'DAT';
const shapes = shapeErrors(DAT_ARCHITECTURE);
// Annotated: a call to a `never` function narrows only through an explicitly typed name.
const bad: ShapeErrors['bad'] = shapes.bad;
const { shapeOf } = shapes;
export type DatUpsampler = 'pixelshuffle' | 'pixelshuffledirect';
export type DatResiConnection = '1conv' | '3conv';
/** spandrel's img_size when no attn_mask buffer says it; it changes nothing the graph computes. */
const DEFAULT_IMG_SIZE = 64;
const NORM_EPS = 1e-5;
const MASK_VALUE = -100;
/**
 * The tile pad measured on the fixtures (tools/reference/make_dat_fixtures.py): the largest pad
 * scanned (64), where a 96x80 input tiled at 16 still differs from the whole image by up to
 * 8-45/255 (mean 0.3-1.5/255) with random weights. DAT has no exact pad: see datReceptiveRadius.
 */
export const DAT_MEASURED_TILE_PAD = 64;

export interface DatHyperparameters {
  readonly inChans: number;
  readonly embedDim: number;
  /** [rows, columns] of the first branch's windows; the second branch's are transposed. */
  readonly splitSize: readonly [number, number];
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  readonly expansionFactor: number;
  readonly qkvBias: boolean;
  readonly scale: number;
  readonly imgRange: number;
  readonly upsampler: DatUpsampler;
  readonly resiConnection: DatResiConnection;
  /** The upsampler's features ('pixelshuffle'; upstream fixes 64); absent for 'pixelshuffledirect'. */
  readonly numFeat?: number;
  /** The training patch size, from the attn_mask buffers (64 when none). */
  readonly imgSize: number;
}

// ---- detection -------------------------------------------------------------------------------

const SIG = 'layers.0.blocks.0.attn.attns.0.rpe_biases';



/** Upstream's rule for which spatial blocks shift (block j of group i; odd blocks attend across channels). */
export function datBlockShifts(group: number, block: number): boolean {
  if (block % 2 === 1) return false;
  return group % 2 === 0 ? block > 0 && (block - 2) % 4 === 0 : block % 4 === 0;
}

/** rpe_biases of an hs x ws window: every (dy, dx), dy in 1 - hs .. hs - 1 (outer), as float rows. */
export function datRpeBiases(hs: number, ws: number): Float32Array {
  const out: number[] = [];
  for (let dy = 1 - hs; dy < hs; dy++) for (let dx = 1 - ws; dx < ws; dx++) out.push(dy, dx);
  return new Float32Array(out);
}

/** relative_position_index of an hs x ws window: [N, N], (dy + hs - 1)(2 ws - 1) + dx + ws - 1 for query i, key j. */
export function datRelativeIndex(hs: number, ws: number): Int32Array {
  const n = hs * ws;
  const out = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dy = Math.floor(i / ws) - Math.floor(j / ws) + hs - 1;
      const dx = (i % ws) - (j % ws) + ws - 1;
      out[i * n + j] = dy * (2 * ws - 1) + dx;
    }
  }
  return out;
}

/** Upstream's shift mask for an img x img image, windows hs x ws rolled by (sh, sw): [nW, N, N] of 0 / -100. */
export function datShiftMask(img: number, hs: number, ws: number, sh: number, sw: number): Float32Array {
  const region = (pos: number, size: number, win: number, shift: number) => (pos < size - win ? 0 : pos < size - shift ? 1 : 2);
  const nh = img / hs;
  const nw = img / ws;
  const n = hs * ws;
  const out = new Float32Array(nh * nw * n * n);
  const labels = new Int8Array(n);
  for (let wy = 0; wy < nh; wy++) {
    for (let wx = 0; wx < nw; wx++) {
      for (let t = 0; t < n; t++) labels[t] = region(wy * hs + Math.floor(t / ws), img, hs, sh) * 3 + region(wx * ws + (t % ws), img, ws, sw);
      const base = (wy * nw + wx) * n * n;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[base + i * n + j] = labels[i] === labels[j] ? 0 : MASK_VALUE;
    }
  }
  return out;
}

/** The position-bias MLP's width: ((dim / 2) // 4) // 4. */
const posDim = (embedDim: number) => Math.floor(Math.floor(embedDim / 2 / 4) / 4);
const hiddenOf = (h: Pick<DatHyperparameters, 'embedDim' | 'expansionFactor'>) => Math.floor(h.embedDim * h.expansionFactor);
const branchWindows = (h: Pick<DatHyperparameters, 'splitSize'>): [number, number][] => [
  [h.splitSize[0], h.splitSize[1]],
  [h.splitSize[1], h.splitSize[0]],
];

function expectedShapes(h: DatHyperparameters): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const E = h.embedDim;
  const conv = (prefix: string, out: number, input: number, k: number) => {
    shapes.set(`${prefix}.weight`, [out, input, k, k]);
    shapes.set(`${prefix}.bias`, [out]);
  };
  const linear = (prefix: string, out: number, input: number, bias = true) => {
    shapes.set(`${prefix}.weight`, [out, input]);
    if (bias) shapes.set(`${prefix}.bias`, [out]);
  };
  const vector = (prefix: string, size: number) => {
    shapes.set(`${prefix}.weight`, [size]);
    shapes.set(`${prefix}.bias`, [size]);
  };
  const batchNorm = (prefix: string, size: number) => {
    vector(prefix, size);
    shapes.set(`${prefix}.running_mean`, [size]);
    shapes.set(`${prefix}.running_var`, [size]);
  };
  const resi = (prefix: string) => {
    if (h.resiConnection === '1conv') return conv(prefix, E, E, 3);
    const q = Math.floor(E / 4);
    conv(`${prefix}.0`, q, E, 3);
    conv(`${prefix}.2`, q, q, 1);
    conv(`${prefix}.4`, E, q, 3);
  };
  const hidden = hiddenOf(h);
  const pd = posDim(E);
  conv('conv_first', E, h.inChans, 3);
  vector('before_RG.1', E);
  h.depths.forEach((depth, i) => {
    const heads = h.numHeads[i]!;
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.blocks.${j}`;
      vector(`${p}.norm1`, E);
      vector(`${p}.norm2`, E);
      linear(`${p}.attn.qkv`, 3 * E, E, h.qkvBias);
      linear(`${p}.attn.proj`, E, E);
      if (j % 2 === 0) {
        branchWindows(h).forEach(([hs, ws], k) => {
          const b = `${p}.attn.attns.${k}`;
          shapes.set(`${b}.rpe_biases`, [(2 * hs - 1) * (2 * ws - 1), 2]);
          linear(`${b}.pos.pos_proj`, pd, 2);
          for (const stage of [1, 2, 3]) {
            vector(`${b}.pos.pos${stage}.0`, pd);
            linear(`${b}.pos.pos${stage}.2`, stage === 3 ? heads / 2 : pd, pd);
          }
        });
      } else {
        shapes.set(`${p}.attn.temperature`, [heads, 1, 1]);
      }
      conv(`${p}.attn.dwconv.0`, E, 1, 3);
      batchNorm(`${p}.attn.dwconv.1`, E);
      conv(`${p}.attn.channel_interaction.1`, Math.floor(E / 8), E, 1);
      batchNorm(`${p}.attn.channel_interaction.2`, Math.floor(E / 8));
      conv(`${p}.attn.channel_interaction.4`, E, Math.floor(E / 8), 1);
      conv(`${p}.attn.spatial_interaction.0`, Math.floor(E / 16), E, 1);
      batchNorm(`${p}.attn.spatial_interaction.1`, Math.floor(E / 16));
      conv(`${p}.attn.spatial_interaction.3`, 1, Math.floor(E / 16), 1);
      linear(`${p}.ffn.fc1`, hidden, E);
      vector(`${p}.ffn.sg.norm`, hidden / 2);
      conv(`${p}.ffn.sg.conv`, hidden / 2, 1, 3);
      linear(`${p}.ffn.fc2`, E, hidden / 2);
    }
    resi(`layers.${i}.conv`);
  });
  vector('norm', E);
  resi('conv_after_body');
  if (h.upsampler === 'pixelshuffledirect') {
    conv('upsample.0', 3 * h.scale ** 2, E, 3);
  } else {
    const nf = h.numFeat!;
    conv('conv_before_upsample.0', nf, E, 3);
    if (h.scale === 3) conv('upsample.0', 9 * nf, nf, 3);
    else for (let k = 0; 2 ** k < h.scale; k++) conv(`upsample.${2 * k}`, 4 * nf, nf, 3);
    conv('conv_last', h.inChans, nf, 3);
  }
  return shapes;
}

const numbers = (stateDict: StateDict, name: string) => Array.from(stateDict.get(name)!.data as ArrayLike<number | bigint>, Number);

/**
 * The buffers upstream's forward reads: each branch's rpe_biases (the position-bias MLP's input)
 * and relative_position_index, and a shifted block's attn_mask_0/1 (used when the padded image is
 * img_size square). Checked against what upstream computes, so that the graph (which computes them
 * itself) runs what PyTorch would. Returns their names, and num_batches_tracked's.
 */
function checkBuffers(stateDict: StateDict, h: DatHyperparameters, problems: string[]): Set<string> {
  const known = new Set<string>();
  // Every spatial block holds the same buffers for its window shapes: computed once each.
  const cache = new Map<string, Int32Array | Float32Array>();
  const once = (key: string, make: () => Int32Array | Float32Array) => cache.get(key) ?? cache.set(key, make()).get(key)!;
  const expect = (name: string, shape: number[], values: Int32Array | Float32Array, what: string) => {
    known.add(name);
    const entry = stateDict.get(name);
    if (!entry) return void problems.push(`missing tensor ${name} (expected shape ${fmt(shape)})`);
    if (entry.shape.length !== shape.length || entry.shape.some((d, k) => d !== shape[k])) {
      return void problems.push(`tensor ${name} has shape ${fmt(entry.shape)}, expected ${fmt(shape)}`);
    }
    if (!sameValues(entry.data as ArrayLike<number | bigint>, values)) problems.push(`tensor ${name} is not DAT's ${what}`);
  };
  for (const name of stateDict.keys()) if (name.endsWith('.num_batches_tracked')) known.add(name);
  const windows = branchWindows(h);
  h.depths.forEach((depth, i) => {
    for (let j = 0; j < depth; j += 2) {
      const p = `layers.${i}.blocks.${j}.attn`;
      windows.forEach(([hs, ws], k) => {
        const n = hs * ws;
        const biases = once(`biases ${hs}x${ws}`, () => datRpeBiases(hs, ws));
        const index = once(`index ${hs}x${ws}`, () => datRelativeIndex(hs, ws));
        expect(`${p}.attns.${k}.rpe_biases`, [(2 * hs - 1) * (2 * ws - 1), 2], biases, `relative offsets for ${hs}x${ws} windows`);
        expect(`${p}.attns.${k}.relative_position_index`, [n, n], index, `relative position index for ${hs}x${ws} windows`);
      });
      if (!datBlockShifts(i, j) || !stateDict.has(`${p}.attn_mask_0`)) continue;
      windows.forEach(([hs, ws], k) => {
        const n = hs * ws;
        const nW = (h.imgSize / hs) * (h.imgSize / ws);
        const mask = once(`mask ${hs}x${ws}`, () => datShiftMask(h.imgSize, hs, ws, Math.floor(hs / 2), Math.floor(ws / 2)));
        expect(`${p}.attn_mask_${k}`, [nW, n, n], mask, `shift mask for ${h.imgSize}x${h.imgSize} images`);
      });
    }
  });
  return known;
}

/** Whether a stored buffer holds `expected`, value for value (int64 indices compared as 32-bit words: millions of them in a published model). */
function sameValues(stored: ArrayLike<number | bigint>, expected: Int32Array | Float32Array): boolean {
  if (stored.length !== expected.length) return false;
  if (stored instanceof BigInt64Array && LITTLE_ENDIAN && expected instanceof Int32Array) {
    const words = new Int32Array(stored.buffer, stored.byteOffset, 2 * stored.length);
    for (let k = 0; k < expected.length; k++) {
      if (words[2 * k] !== expected[k] || words[2 * k + 1] !== (expected[k]! < 0 ? -1 : 0)) return false;
    }
    return true;
  }
  for (let k = 0; k < expected.length; k++) if (Number(stored[k]) !== expected[k]) return false;
  return true;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;


function unsupported(message: string): never {
  throw new UnsupportedArchitectureError(`${DAT_ARCHITECTURE}: ${message}`, { details: { architecture: DAT_ARCHITECTURE } });
}

/** The split size from the first branch's rpe_biases (its last row is (s0 - 1, s1 - 1), as spandrel reads it). */
function splitSizeOf(stateDict: StateDict): [number, number] {
  const shape = shapeOf(stateDict, SIG, '[(2 s0 - 1)(2 s1 - 1), 2]');
  if (shape.length !== 2 || shape[1] !== 2 || shape[0]! < 1) bad(SIG, shape, '[(2 s0 - 1)(2 s1 - 1), 2]');
  const values = numbers(stateDict, SIG);
  const s0 = values[values.length - 2]! + 1;
  const s1 = values[values.length - 1]! + 1;
  if (!Number.isInteger(s0) || !Number.isInteger(s1) || s0 < 1 || s1 < 1 || (2 * s0 - 1) * (2 * s1 - 1) !== shape[0]) {
    throw new BadCheckpointError(`${DAT_ARCHITECTURE}: tensor ${SIG} does not hold the relative offsets of a window`, { details: { tensor: SIG } });
  }
  return [s0, s1];
}

/** The upsampler, scale and features. */
function upsamplerOf(stateDict: StateDict, E: number): { upsampler: DatUpsampler; scale: number; numFeat?: number } {
  if (!stateDict.has('conv_last.weight')) {
    const up = shapeOf(stateDict, 'upsample.0.weight', `[3 scale^2, ${E}, 3, 3]`);
    const scale = Math.round(Math.sqrt((up[0] ?? 0) / 3));
    if (up.length !== 4 || up[1] !== E || scale < 1 || 3 * scale * scale !== up[0]) bad('upsample.0.weight', up, `[3 scale^2, ${E}, 3, 3]`);
    return { upsampler: 'pixelshuffledirect', scale };
  }
  const before = shapeOf(stateDict, 'conv_before_upsample.0.weight', `[num_feat, ${E}, 3, 3]`);
  if (before.length !== 4 || before[0]! < 1 || before[1] !== E) bad('conv_before_upsample.0.weight', before, `[num_feat, ${E}, 3, 3]`);
  const numFeat = before[0]!;
  const up = shapeOf(stateDict, 'upsample.0.weight', `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);
  if (up[0] === 9 * numFeat) return { upsampler: 'pixelshuffle', scale: 3, numFeat };
  if (up[0] === 4 * numFeat) return { upsampler: 'pixelshuffle', scale: 2 ** Math.ceil(countIndices(stateDict, 'upsample') / 2), numFeat };
  return bad('upsample.0.weight', up, `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);
}

/** DAT hyperparameters when the names say DAT, undefined otherwise; throws BadCheckpointError naming a wrong tensor. */
export function detectDat(stateDict: StateDict, overrides: ArchitectureOverrides = {}): DatHyperparameters | undefined {
  if (!stateDict.has('conv_first.weight') || !stateDict.has('before_RG.1.weight') || !stateDict.has(SIG)) return undefined;
  const first = shapeOf(stateDict, 'conv_first.weight', '[embed_dim, 3, 3, 3]');
  if (first.length !== 4 || first[1] !== 3 || first[2] !== 3 || first[3] !== 3 || first[0]! < 1) bad('conv_first.weight', first, '[embed_dim, 3, 3, 3] (RGB models only)');
  const E = first[0]!;
  if (posDim(E) < 1) unsupported(`embed_dim ${E} leaves the position-bias MLP no features (it needs embed_dim >= 32)`);
  const splitSize = splitSizeOf(stateDict);
  const [small, large] = [Math.min(...splitSize), Math.max(...splitSize)];
  if (small < 2 || large % small !== 0) unsupported(`split size [${splitSize.join(', ')}]: windows must be at least 2 and one side a multiple of the other (upstream cannot tile the image otherwise)`);

  const layers = countIndices(stateDict, 'layers');
  const depths: number[] = [];
  const numHeads: number[] = [];
  for (let i = 0; i < layers; i++) {
    const depth = countIndices(stateDict, `layers.${i}.blocks`);
    if (depth < 1) throw new BadCheckpointError(`${DAT_ARCHITECTURE}: layer ${i} has no blocks (no tensor layers.${i}.blocks.0.*)`);
    depths.push(depth);
    // A channel block's temperature holds one value per head; without one, the spatial branches' heads (half each).
    let heads: number;
    if (depth >= 2) {
      const name = `layers.${i}.blocks.1.attn.temperature`;
      const t = shapeOf(stateDict, name, '[heads, 1, 1]');
      if (t.length !== 3 || t[0]! < 1 || t[1] !== 1 || t[2] !== 1) bad(name, t, '[heads, 1, 1]');
      heads = t[0]!;
    } else {
      const name = `layers.${i}.blocks.0.attn.attns.0.pos.pos3.2.weight`;
      const w = shapeOf(stateDict, name, `[heads / 2, ${posDim(E)}]`);
      if (w.length !== 2 || w[0]! < 1) bad(name, w, `[heads / 2, ${posDim(E)}]`);
      heads = 2 * w[0]!;
    }
    if (heads % 2 !== 0 || E % heads !== 0) {
      const name = depth >= 2 ? `layers.${i}.blocks.1.attn.temperature` : `layers.${i}.blocks.0.attn.attns.0.pos.pos3.2.weight`;
      throw new BadCheckpointError(`${DAT_ARCHITECTURE}: tensor ${name} gives ${heads} heads, which must be even and divide embed_dim ${E}`, {
        details: { tensor: name },
      });
    }
    numHeads.push(heads);
  }
  const fc1Name = 'layers.0.blocks.0.ffn.fc1.weight';
  const fc1 = shapeOf(stateDict, fc1Name, `[hidden, ${E}]`);
  if (fc1.length !== 2 || fc1[1] !== E || fc1[0]! < 2 || fc1[0]! % 2 !== 0) bad(fc1Name, fc1, `[hidden, ${E}] with hidden even`);
  const { upsampler, scale, numFeat } = upsamplerOf(stateDict, E);
  const imgSize = imgSizeOf(stateDict, depths, splitSize);

  const h: DatHyperparameters = {
    inChans: 3,
    embedDim: E,
    splitSize,
    depths,
    numHeads,
    expansionFactor: fc1[0]! / E,
    qkvBias: stateDict.has('layers.0.blocks.0.attn.qkv.bias'),
    scale,
    imgRange: 1,
    upsampler,
    resiConnection: stateDict.has('conv_after_body.weight') ? '1conv' : '3conv',
    ...(numFeat === undefined ? {} : { numFeat }),
    imgSize,
  };
  const expected = expectedShapes(h);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  const known = new Set([...expected.keys(), ...checkBuffers(stateDict, h, problems)]);
  const unexpected = [...stateDict.keys()].filter((k) => !known.has(k));
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${DAT_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
  checkRgbUpscalerOverrides(DAT_ARCHITECTURE, overrides, scale);
  return h;
}

/** img_size from the first shifted block's attn_mask_0 ([nW, N, N], nW N = img_size^2), as spandrel reads it; 64 when none is stored. */
function imgSizeOf(stateDict: StateDict, depths: readonly number[], splitSize: readonly [number, number]): number {
  for (let i = 0; i < depths.length; i++) {
    for (let j = 0; j < depths[i]!; j++) {
      const name = `layers.${i}.blocks.${j}.attn.attn_mask_0`;
      const shape = stateDict.get(name)?.shape;
      if (!datBlockShifts(i, j) || !shape) continue;
      const n = splitSize[0] * splitSize[1];
      const img = Math.round(Math.sqrt((shape[0] ?? 0) * n));
      if (shape.length !== 3 || shape[1] !== n || shape[2] !== n || img * img !== shape[0]! * n || img % splitSize[0] !== 0 || img % splitSize[1] !== 0) {
        bad(name, shape, `[nW, ${n}, ${n}] for a square image of whole windows`);
      }
      return img;
    }
  }
  return DEFAULT_IMG_SIZE;
}

// ---- geometry and cost -----------------------------------------------------------------------

/**
 * The tile pad superres uses: MEASURED, and no pad is exact. Every channel block attends across
 * all the tile's tokens and every block's channel map averages the whole tile, so a tile sees
 * different statistics from the whole image wherever it is cut. tools/reference/make_dat_fixtures.py
 * scans pads 8..64 (tile 16, multiples of the windows) on a 96x80 input: with random weights the
 * difference falls steadily with the pad and is still 8-45/255 at 64 (mean 0.3-1.5/255); the
 * curves are in its manifest. The radius is that largest measured pad, and at least two of the
 * largest windows (published DAT models use 8 x 32: 64). Whole-image runs are exact.
 */
export function datReceptiveRadius(h: Pick<DatHyperparameters, 'splitSize'>): number {
  return Math.max(DAT_MEASURED_TILE_PAD, 2 * Math.max(...h.splitSize));
}

export function datGeometry(h: DatHyperparameters): ArchitectureGeometry {
  const E = h.embedDim;
  const n = h.splitSize[0] * h.splitSize[1];
  const heads = Math.max(...h.numHeads);
  return {
    scale: h.scale,
    alignment: referenceAlignment(h.scale),
    receptiveRadius: datReceptiveRadius(h),
    // Tiles keep the image's window grid (the padding to the largest window starts at each tile's corner).
    tileMultiple: Math.max(...h.splitSize),
    workingBytesPerPixel: workingBytesPerPixel({
      widestChannels: Math.max(3 * E, hiddenOf(h), heads * n, (h.numFeat ?? 0) * h.scale ** 2),
      inChannels: 3,
      outChannels: 3,
      scale: h.scale,
    }),
  };
}

/**
 * Multiply-accumulates per output pixel: convolutions and linear layers (depthwise ones at 9 per
 * channel), the spatial attention (q k^T and attn v over N = s0 s1 tokens: 2 N E per token) and the
 * channel attention (d x d per head: 2 d E per token). The position-bias MLP runs at build time and
 * the channel maps' 1x1 convolutions once per image: left out, as norms, softmax and GELU are.
 */
export function datMacsPerOutputPixel(h: DatHyperparameters): number {
  const E = h.embedDim;
  const n = h.splitSize[0] * h.splitSize[1];
  const hidden = hiddenOf(h);
  const q = Math.floor(E / 4);
  const resi = h.resiConnection === '1conv' ? 9 * E * E : 9 * E * q + q * q + 9 * q * E;
  const common = 3 * E * E + E * E + 9 * E + E * Math.floor(E / 16) + Math.floor(E / 16) + E * hidden + 9 * (hidden / 2) + (hidden / 2) * E;
  let macs = 9 * 3 * E + (h.depths.length + 1) * resi;
  h.depths.forEach((depth, i) => {
    const d = E / h.numHeads[i]!;
    for (let j = 0; j < depth; j++) macs += common + (j % 2 === 0 ? 2 * n * E : 2 * d * E);
  });
  const s2 = h.scale ** 2;
  if (h.upsampler === 'pixelshuffledirect') {
    macs += 9 * E * 3 * s2;
  } else {
    const nf = h.numFeat!;
    macs += 9 * E * nf;
    if (h.scale === 3) macs += 9 * nf * 9 * nf;
    else for (let area = 1; area < s2; area *= 4) macs += area * 9 * nf * 4 * nf;
    macs += s2 * 9 * nf * 3;
  }
  return macs / s2;
}

// ---- ONNX graph ------------------------------------------------------------------------------

/** Row-major [rows, cols] x W^T + b in float64 (nn.Linear), for the build-time position-bias MLP. */
function linear64(stateDict: StateDict, prefix: string, x: Float64Array, rows: number): Float64Array {
  const w = floatTensor(stateDict, `${prefix}.weight`);
  const b = floatTensor(stateDict, `${prefix}.bias`).data;
  const [out, input] = w.shape as [number, number];
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let sum = b[o]!;
      for (let k = 0; k < input; k++) sum += x[r * input + k]! * w.data[o * input + k]!;
      y[r * out + o] = sum;
    }
  }
  return y;
}

/** LayerNorm then ReLU over each row, in float64. */
function layerNormRelu64(stateDict: StateDict, prefix: string, x: Float64Array, rows: number): Float64Array {
  const w = floatTensor(stateDict, `${prefix}.weight`).data;
  const b = floatTensor(stateDict, `${prefix}.bias`).data;
  const width = w.length;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let k = 0; k < width; k++) mean += x[r * width + k]!;
    mean /= width;
    let variance = 0;
    for (let k = 0; k < width; k++) variance += (x[r * width + k]! - mean) ** 2;
    variance /= width;
    const std = Math.sqrt(variance + NORM_EPS);
    for (let k = 0; k < width; k++) y[r * width + k] = Math.max(0, ((x[r * width + k]! - mean) / std) * w[k]! + b[k]!);
  }
  return y;
}

/** A branch's dynamic position bias, [heads, N, N]: pos3(pos2(pos1(pos_proj(rpe_biases)))) gathered by the index. */
export function datPositionBias(stateDict: StateDict, prefix: string, hs: number, ws: number, heads: number): Float32Array {
  const rows = (2 * hs - 1) * (2 * ws - 1);
  let x = linear64(stateDict, `${prefix}.pos.pos_proj`, Float64Array.from(datRpeBiases(hs, ws)), rows);
  for (const stage of [1, 2, 3]) {
    x = layerNormRelu64(stateDict, `${prefix}.pos.pos${stage}.0`, x, rows);
    x = linear64(stateDict, `${prefix}.pos.pos${stage}.2`, x, rows);
  }
  const index = datRelativeIndex(hs, ws);
  const nn = index.length;
  const out = new Float32Array(heads * nn);
  for (let hd = 0; hd < heads; hd++) for (let k = 0; k < nn; k++) out[hd * nn + k] = x[index[k]! * heads + hd]!;
  return out;
}

class DatGraph extends SwinirGraph {
  constructor(stateDict: StateDict) {
    super(stateDict, DAT_ARCHITECTURE);
  }

  /** Eval-mode BatchNorm2d on NCHW, folded to x * scale + shift per channel. */
  batchNorm(prefix: string, x: string, out = prefix): string {
    const w = floatTensor(this.stateDict, `${prefix}.weight`).data;
    const b = floatTensor(this.stateDict, `${prefix}.bias`).data;
    const mean = floatTensor(this.stateDict, `${prefix}.running_mean`).data;
    const variance = floatTensor(this.stateDict, `${prefix}.running_var`).data;
    const c = w.length;
    const scale = new Float32Array(c);
    const shift = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      const s = w[k]! / Math.sqrt(variance[k]! + NORM_EPS);
      scale[k] = s;
      shift[k] = b[k]! - mean[k]! * s;
    }
    this.g.initializer(`${prefix}.scale`, [1, c, 1, 1], scale);
    this.g.initializer(`${prefix}.shift`, [1, c, 1, 1], shift);
    this.g.node('Mul', [x, `${prefix}.scale`], [`${out}.scaled`]);
    this.g.node('Add', [`${out}.scaled`, `${prefix}.shift`], [out]);
    return out;
  }

  nhwc(x: string, out: string): string {
    this.g.node('Transpose', [x], [out], { perm: attr.ints([0, 2, 3, 1]) });
    return out;
  }

  nchw(x: string, out: string): string {
    this.g.node('Transpose', [x], [out], { perm: attr.ints([0, 3, 1, 2]) });
    return out;
  }

  /** 1x1 conv, BatchNorm, GELU, 1x1 conv (the interactions' shared shape), from `first` on. */
  interaction(p: string, x: string, first: number): string {
    this.conv(`${p}.${first}`, x);
    this.batchNorm(`${p}.${first + 1}`, `${p}.${first}`);
    this.gelu(`${p}.${first + 1}`, `${p}.${first + 2}`);
    return this.conv(`${p}.${first + 3}`, `${p}.${first + 2}`);
  }

  /** dwconv: depthwise 3x3, BatchNorm, GELU on an NCHW image. */
  dwconv(p: string, x: string, channels: number): string {
    this.conv(`${p}.dwconv.0`, x, `${p}.dwconv.0`, channels);
    this.batchNorm(`${p}.dwconv.1`, `${p}.dwconv.0`);
    return this.gelu(`${p}.dwconv.1`, `${p}.dwconv`);
  }

  /** A sigmoid, with a name. */
  sigmoid(x: string, out: string): string {
    this.g.node('Sigmoid', [x], [out]);
    return out;
  }
}

/** Runtime sizes: H, W (int64 [1]), the padded Hp, Wp, and each branch's window grid. */
interface DatSizes {
  H: string;
  W: string;
  Hp: string;
  Wp: string;
  grids: { nh: string; nw: string; nW: string }[];
}

function datSizes(graph: DatGraph, h: DatHyperparameters): DatSizes {
  const { g } = graph;
  const m = Math.max(...h.splitSize);
  g.node('Shape', ['input'], ['input.shape']);
  for (const [axis, size] of [
    [2, 'H'],
    [3, 'W'],
  ] as const) {
    g.node('Slice', ['input.shape', graph.int64([axis]), graph.int64([axis + 1]), graph.int64([0])], [size]);
    // Padded to the largest window: size + (m - size % m) % m.
    g.node('Mod', [size, graph.int64([m])], [`${size}.rem`]);
    g.node('Sub', [graph.int64([m]), `${size}.rem`], [`${size}.to_next`]);
    g.node('Mod', [`${size}.to_next`, graph.int64([m])], [`${size}.pad`]);
    g.node('Add', [size, `${size}.pad`], [`${size}p`]);
  }
  g.node('Concat', [graph.int64([0, 0, 0, 0, 0]), 'H.pad', 'W.pad', graph.int64([0])], ['qkv_pads'], { axis: attr.int(0) });
  const grids = branchWindows(h).map(([hs, ws], k) => {
    const nh = `grid${k}.nh`;
    const nw = `grid${k}.nw`;
    g.node('Div', ['Hp', graph.int64([hs])], [nh]);
    g.node('Div', ['Wp', graph.int64([ws])], [nw]);
    g.node('Mul', [nh, nw], [`grid${k}.nW`]);
    return { nh, nw, nW: `grid${k}.nW` };
  });
  return { H: 'H', W: 'W', Hp: 'Hp', Wp: 'Wp', grids };
}

/** One branch of the spatial attention on padded [B, Hp, Wp, 3, E/2] -> [B, H, W, E/2]. */
function spatialBranch(graph: DatGraph, h: DatHyperparameters, part: string, p: string, k: number, heads: number, shifted: boolean, sizes: DatSizes, masks: string[]): string {
  const { g } = graph;
  const [hs, ws] = branchWindows(h)[k]!;
  const C = h.embedDim / 2;
  const n = hs * ws;
  const d = C / heads;
  const grid = sizes.grids[k]!;
  const b = `${p}.attns.${k}`;
  const shift: [number, number] = [Math.floor(hs / 2), Math.floor(ws / 2)];
  let x = part;
  if (shifted) x = graph.roll(x, [-shift[0], -shift[1]], `${b}.roll`);
  // [B, nh, hs, nw, ws, 3, C] -> [3, B, nh, nw, hs, ws, C] -> [3, B nW, heads, N, d].
  g.node('Concat', [graph.int64([-1]), grid.nh, graph.int64([hs]), grid.nw, graph.int64([ws, 3, C])], [`${b}.grid_shape`], { axis: attr.int(0) });
  g.node('Reshape', [x, `${b}.grid_shape`], [`${b}.grid`]);
  g.node('Transpose', [`${b}.grid`], [`${b}.grid_t`], { perm: attr.ints([5, 0, 1, 3, 2, 4, 6]) });
  g.node('Reshape', [`${b}.grid_t`, graph.int64([3, -1, n, heads, d])], [`${b}.heads`]);
  g.node('Transpose', [`${b}.heads`], [`${b}.qkv`], { perm: attr.ints([0, 1, 3, 2, 4]) });
  for (const [i, name] of ['q', 'k', 'v'].entries()) g.node('Gather', [`${b}.qkv`, graph.int64([i], true)], [`${b}.${name}`], { axis: attr.int(0) });
  g.node('Mul', [`${b}.q`, graph.scalar(d ** -0.5)], [`${b}.q_scaled`]);
  g.node('Transpose', [`${b}.k`], [`${b}.k_t`], { perm: attr.ints([0, 1, 3, 2]) });
  g.node('MatMul', [`${b}.q_scaled`, `${b}.k_t`], [`${b}.scores`]);
  g.initializer(`${b}.position_bias`, [heads, n, n], datPositionBias(graph.stateDict, b, hs, ws, heads));
  g.node('Add', [`${b}.scores`, `${b}.position_bias`], [`${b}.biased`]);
  let scores = `${b}.biased`;
  if (shifted) {
    g.node('Concat', [graph.int64([-1]), grid.nW, graph.int64([heads, n, n])], [`${b}.by_window_shape`], { axis: attr.int(0) });
    g.node('Reshape', [scores, `${b}.by_window_shape`], [`${b}.by_window`]);
    g.node('Add', [`${b}.by_window`, masks[k]!], [`${b}.masked`]);
    g.node('Reshape', [`${b}.masked`, graph.int64([-1, heads, n, n])], [`${b}.masked4`]);
    scores = `${b}.masked4`;
  }
  g.node('Softmax', [scores], [`${b}.weights`], { axis: attr.int(-1) });
  g.node('MatMul', [`${b}.weights`, `${b}.v`], [`${b}.mixed`]);
  // [B nW, heads, N, d] -> [B nW, N, heads, d] = [B, nh, nw, hs, ws, C] -> [B, Hp, Wp, C].
  g.node('Transpose', [`${b}.mixed`], [`${b}.mixed_t`], { perm: attr.ints([0, 2, 1, 3]) });
  g.node('Concat', [graph.int64([-1]), grid.nh, grid.nw, graph.int64([hs, ws, C])], [`${b}.back_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${b}.mixed_t`, `${b}.back_shape`], [`${b}.back`]);
  g.node('Transpose', [`${b}.back`], [`${b}.back_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Concat', [graph.int64([-1]), sizes.Hp, sizes.Wp, graph.int64([C])], [`${b}.image_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${b}.back_t`, `${b}.image_shape`], [`${b}.image`]);
  let y = `${b}.image`;
  if (shifted) y = graph.roll(y, shift, `${b}.unroll`);
  g.node('Concat', [sizes.H, sizes.W], [`${b}.crop_end`], { axis: attr.int(0) });
  g.node('Slice', [y, graph.int64([0, 0]), `${b}.crop_end`, graph.int64([1, 2])], [`${b}.out`]);
  return `${b}.out`;
}

/** The spatial block's attention on normed NHWC tokens -> NHWC. */
function spatialAttention(graph: DatGraph, h: DatHyperparameters, y: string, p: string, heads: number, shifted: boolean, sizes: DatSizes, masks: string[]): string {
  const { g } = graph;
  const E = h.embedDim;
  graph.linear(`${p}.qkv`, y);
  g.node('Slice', [`${p}.qkv`, graph.int64([2 * E]), graph.int64([3 * E]), graph.int64([3])], [`${p}.v_tokens`]);
  const convX = graph.dwconv(p, graph.nchw(`${p}.v_tokens`, `${p}.v_image`), E);
  g.node('Pad', [`${p}.qkv`, 'qkv_pads'], [`${p}.qkv_padded`], { mode: attr.string('constant') });
  g.node('Concat', [graph.int64([-1]), sizes.Hp, sizes.Wp, graph.int64([3, 2, E / 2])], [`${p}.halves_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.qkv_padded`, `${p}.halves_shape`], [`${p}.halves`]);
  const outs = [0, 1].map((k) => {
    g.node('Gather', [`${p}.halves`, graph.int64([k], true)], [`${p}.half${k}`], { axis: attr.int(4) });
    return spatialBranch(graph, h, `${p}.half${k}`, p, k, heads / 2, shifted, sizes, masks);
  });
  g.node('Concat', outs, [`${p}.attended`], { axis: attr.int(3) });
  // C-map from the convolution branch, S-map from the attention.
  g.node('ReduceMean', [convX], [`${p}.conv_pool`], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  const channelMap = graph.interaction(`${p}.channel_interaction`, `${p}.conv_pool`, 1);
  const spatialMap = graph.interaction(`${p}.spatial_interaction`, graph.nchw(`${p}.attended`, `${p}.attended_image`), 0);
  g.node('Mul', [`${p}.attended`, graph.sigmoid(graph.nhwc(channelMap, `${p}.channel_map`), `${p}.channel_gate`)], [`${p}.attn_gated`]);
  g.node('Mul', [convX, graph.sigmoid(spatialMap, `${p}.spatial_gate`)], [`${p}.conv_gated`]);
  g.node('Add', [`${p}.attn_gated`, graph.nhwc(`${p}.conv_gated`, `${p}.conv_gated_tokens`)], [`${p}.mixed`]);
  return graph.linear(`${p}.proj`, `${p}.mixed`);
}


/** The channel block's attention on normed NHWC tokens -> NHWC. */
function channelAttention(graph: DatGraph, h: DatHyperparameters, y: string, p: string, heads: number, sizes: DatSizes): string {
  const { g } = graph;
  const E = h.embedDim;
  const d = E / heads;
  graph.linear(`${p}.qkv`, y);
  // [B, H, W, 3E] -> [B, N, 3, heads, d] -> [3, B, heads, d, N].
  g.node('Reshape', [`${p}.qkv`, graph.int64([0, -1, 3, heads, d])], [`${p}.qkv5`]);
  g.node('Transpose', [`${p}.qkv5`], [`${p}.qkv_t`], { perm: attr.ints([2, 0, 3, 4, 1]) });
  for (const [i, name] of ['q', 'k', 'v'].entries()) g.node('Gather', [`${p}.qkv_t`, graph.int64([i], true)], [`${p}.${name}`], { axis: attr.int(0) });
  const scalar = (v: number) => graph.scalar(v);
  l2Normalize(g, scalar, `${p}.q`, `${p}.q_unit`);
  l2Normalize(g, scalar, `${p}.k`, `${p}.k_unit`);
  g.node('Transpose', [`${p}.k_unit`], [`${p}.k_t`], { perm: attr.ints([0, 1, 3, 2]) });
  g.node('MatMul', [`${p}.q_unit`, `${p}.k_t`], [`${p}.scores`]);
  const t = floatTensor(graph.stateDict, `${p}.temperature`);
  g.initializer(`${p}.temperature`, t.shape, t.data);
  g.node('Mul', [`${p}.scores`, `${p}.temperature`], [`${p}.tempered`]);
  g.node('Softmax', [`${p}.tempered`], [`${p}.weights`], { axis: attr.int(-1) });
  g.node('MatMul', [`${p}.weights`, `${p}.v`], [`${p}.mixed_heads`]);
  // [B, heads, d, N] -> [B, N, heads, d] -> [B, H, W, E].
  g.node('Transpose', [`${p}.mixed_heads`], [`${p}.mixed_t`], { perm: attr.ints([0, 3, 1, 2]) });
  g.node('Concat', [graph.int64([-1]), sizes.H, sizes.W, graph.int64([E])], [`${p}.tokens_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.mixed_t`, `${p}.tokens_shape`], [`${p}.attended`]);
  // v as an image: channel head * d + j.
  g.node('Concat', [graph.int64([-1, E]), sizes.H, sizes.W], [`${p}.v_image_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.v`, `${p}.v_image_shape`], [`${p}.v_image`]);
  const convX = graph.dwconv(p, `${p}.v_image`, E);
  // C-map from the attention, S-map from the convolution branch (the other way round from the spatial block).
  const attendedImage = graph.nchw(`${p}.attended`, `${p}.attended_image`);
  g.node('ReduceMean', [attendedImage], [`${p}.attended_pool`], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  const channelMap = graph.interaction(`${p}.channel_interaction`, `${p}.attended_pool`, 1);
  const spatialMap = graph.interaction(`${p}.spatial_interaction`, convX, 0);
  g.node('Mul', [`${p}.attended`, graph.sigmoid(graph.nhwc(spatialMap, `${p}.spatial_map`), `${p}.spatial_gate`)], [`${p}.attn_gated`]);
  g.node('Mul', [convX, graph.sigmoid(channelMap, `${p}.channel_gate`)], [`${p}.conv_gated`]);
  g.node('Add', [`${p}.attn_gated`, graph.nhwc(`${p}.conv_gated`, `${p}.conv_gated_tokens`)], [`${p}.mixed`]);
  return graph.linear(`${p}.proj`, `${p}.mixed`);
}

/** SGFN on normed NHWC tokens: fc2(a * dwconv(LayerNorm(b))) for (a, b) = GELU(fc1(x)) in halves. */
function sgfn(graph: DatGraph, h: DatHyperparameters, y: string, p: string): string {
  const { g } = graph;
  const half = hiddenOf(h) / 2;
  graph.linear(`${p}.fc1`, y);
  graph.gelu(`${p}.fc1`, `${p}.act`);
  g.node('Slice', [`${p}.act`, graph.int64([0]), graph.int64([half]), graph.int64([3])], [`${p}.gate_a`]);
  g.node('Slice', [`${p}.act`, graph.int64([half]), graph.int64([2 * half]), graph.int64([3])], [`${p}.gate_b`]);
  graph.layerNorm(`${p}.sg.norm`, `${p}.gate_b`, `${p}.sg.norm`);
  graph.conv(`${p}.sg.conv`, graph.nchw(`${p}.sg.norm`, `${p}.sg.image`), `${p}.sg.conv`, half);
  g.node('Mul', [`${p}.gate_a`, graph.nhwc(`${p}.sg.conv`, `${p}.sg.tokens`)], [`${p}.gated`]);
  return graph.linear(`${p}.fc2`, `${p}.gated`);
}

/** The ONNX graph: input `input` [N, 3, H, W] (dynamic N, H, W), output `output` [N, 3, H s, W s]. */
export function buildDatOnnx(stateDict: StateDict, h: DatHyperparameters): Uint8Array {
  const graph = new DatGraph(stateDict);
  const { g } = graph;
  g.input('input', 'float32', ['N', 3, 'H', 'W']);
  const sizes = datSizes(graph, h);
  g.initializer('mean', [1, 3, 1, 1], new Float32Array(RGB_MEAN));
  g.node('Sub', ['input', 'mean'], ['centred']);
  let x = 'centred';
  if (h.imgRange !== 1) {
    g.node('Mul', [x, graph.scalar(h.imgRange)], ['ranged']);
    x = 'ranged';
  }
  const first = graph.conv('conv_first', x);
  let t = graph.layerNorm('before_RG.1', graph.nhwc(first, 'tokens'), 'before_RG.1');
  const anyShift = h.depths.some((depth, i) => Array.from({ length: depth }, (_, j) => datBlockShifts(i, j)).some(Boolean));
  const masks = anyShift
    ? branchWindows(h).map(([hs, ws], k) =>
        windowShiftMask(graph, { name: `mask${k}`, hs, ws, sh: Math.floor(hs / 2), sw: Math.floor(ws / 2), nh: sizes.grids[k]!.nh, nw: sizes.grids[k]!.nw }),
      )
    : [];
  h.depths.forEach((depth, i) => {
    const groupIn = t;
    const heads = h.numHeads[i]!;
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.blocks.${j}`;
      const y = graph.layerNorm(`${p}.norm1`, t, `${p}.norm1`);
      const attn = j % 2 === 0 ? spatialAttention(graph, h, y, `${p}.attn`, heads, datBlockShifts(i, j), sizes, masks) : channelAttention(graph, h, y, `${p}.attn`, heads, sizes);
      g.node('Add', [t, attn], [`${p}.x1`]);
      const ffn = sgfn(graph, h, graph.layerNorm(`${p}.norm2`, `${p}.x1`, `${p}.norm2`), `${p}.ffn`);
      g.node('Add', [`${p}.x1`, ffn], [p]);
      t = p;
    }
    const conv = resiConv(graph, h, `layers.${i}.conv`, graph.nchw(t, `layers.${i}.image`));
    g.node('Add', [graph.nhwc(conv, `layers.${i}.tokens`), groupIn], [`layers.${i}`]);
    t = `layers.${i}`;
  });
  return swinExit(graph, h, t, first, (features) => resiConv(graph, h, 'conv_after_body', features), {
    architecture: DAT_ARCHITECTURE,
    docString: `${DAT_ARCHITECTURE} x${h.scale} (${h.upsampler}, depths [${h.depths.join(', ')}], embed_dim ${h.embedDim}, split [${h.splitSize.join(', ')}]), converted from a PyTorch state dict by superres`,
    geometry: datGeometry(h),
    hyperparameters: h,
  });
}

// ---- registry module -------------------------------------------------------------------------

export const datArchitecture: Architecture<DatHyperparameters> = {
  name: DAT_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^conv_first\.(weight|bias)$/,
    /^before_RG\.1\.(weight|bias)$/,
    /^layers\.\d+\.blocks\.\d+\.(norm[12]|attn\.(qkv|proj))\.(weight|bias)$/,
    /^layers\.\d+\.blocks\.\d+\.attn\.attns\.[01]\.(rpe_biases|relative_position_index|pos\.)/,
    /^layers\.\d+\.blocks\.\d+\.attn\.(temperature|attn_mask_[01])$/,
    /^layers\.\d+\.blocks\.\d+\.attn\.(dwconv|channel_interaction|spatial_interaction)\./,
    /^layers\.\d+\.blocks\.\d+\.ffn\.(fc[12]|sg\.(norm|conv))\.(weight|bias)$/,
    /^layers\.\d+\.conv\.(\d\.)?(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectDat(stateDict, overrides),
  geometry: datGeometry,
  macsPerOutputPixel: datMacsPerOutputPixel,
  build: (stateDict, hyper) => buildDatOnnx(stateDict, hyper),
};
