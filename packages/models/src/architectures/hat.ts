/**
 * HAT, Hybrid Attention Transformer ("Activating More Pixels in Image Super-Resolution
 * Transformer", arXiv 2205.04437; the authors' XPixelGroup/HAT `hat/archs/hat_arch.py`, detected
 * as spandrel's `architectures/HAT/__init__.py` does): hyperparameters read from a state dict,
 * geometry, cost, and the ONNX graph. tools/reference/hat_arch.py is the PyTorch reference.
 *
 * HAT is SwinIR's classical network (swinir.ts: padding, mean, conv_first, patch norm, residual
 * groups with a '1conv' or (HAT only) 'identity' conv, no '3conv', norm, conv_after_body, the 'pixelshuffle' upsampler) with
 * RHAG groups `layers.i`: HABs `residual_group.blocks.j` (a Swin block whose residual also gets
 * conv_scale (0.01, not in the state dict) x a channel attention block `conv_block.cab` on norm1's
 * output: 3x3, GELU, 3x3, x * sigmoid(1x1(ReLU(1x1(global mean))))), then one overlapping
 * cross-attention block `residual_group.overlap_attn` (OCAB: queries in ws x ws windows, keys and
 * values in ows x ows windows, ows = ws + overlap_ratio ws, zero padded, stride ws). The relative
 * position indices are two top-level buffers, relative_position_index_SA and _OCA.
 */
import { BadCheckpointError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { attr } from '../onnx/onnx-graph.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { referenceAlignment } from './srvgg.js';
import {
  SwinirGraph,
  relativePositionIndex,
  resiConv,
  swinBlock,
  type Sizes,
  swinEntry,
  swinExit,
} from './swinir.js';
import { checkRgbUpscalerOverrides } from './overrides.js';
import { countIndices, floatTensor, fmt, listNames, shapeErrors, tensorProblem, type ShapeErrors } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const HAT_ARCHITECTURE = 'HAT';
const shapes = shapeErrors(HAT_ARCHITECTURE);
// Annotated: a call to a `never` function narrows only through an explicitly typed name.
const bad: ShapeErrors['bad'] = shapes.bad;
const { shapeOf } = shapes;
/** Upstream's CAB scale: a constructor argument every release leaves at 0.01 (not in the state dict). */
export const HAT_CONV_SCALE = 0.01;
/** Upstream HAT's residual connections: a 3x3 conv, or none ('identity', spandrel's reading when conv_after_body has no weight). */
export type HatResiConnection = '1conv' | 'identity';
/** spandrel's img_size (HAT keeps no attn_mask buffer): only decides whether odd blocks shift. */
const DEFAULT_IMG_SIZE = 64;

export interface HatHyperparameters {
  readonly inChans: number;
  readonly embedDim: number;
  readonly depths: readonly number[];
  readonly numHeads: readonly number[];
  readonly windowSize: number;
  /** ows = windowSize + overlapRatio * windowSize. */
  readonly overlapRatio: number;
  /** embed_dim / the CAB's hidden channels. */
  readonly compressRatio: number;
  /** embed_dim / the channel attention's hidden channels. */
  readonly squeezeFactor: number;
  readonly convScale: number;
  readonly mlpRatio: number;
  readonly scale: number;
  readonly imgRange: number;
  readonly upsampler: 'pixelshuffle';
  readonly resiConnection: HatResiConnection;
  readonly numFeat: number;
  readonly imgSize: number;
  readonly patchNorm: boolean;
}

// ---- detection -------------------------------------------------------------------------------

const SIG = /^layers\.\d+\.residual_group\.(blocks\.\d+\.conv_block\.cab|overlap_attn)\./;



/** Upstream's OCA index, raw (some values negative; PyTorch's indexing wraps them by the table size). */
export function ocaIndex(ws: number, ows: number): Int32Array {
  const n = ws * ws;
  const m = ows * ows;
  const out = new Int32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const dy = Math.floor(j / ows) - Math.floor(i / ws);
      const dx = (j % ows) - (i % ws);
      out[i * m + j] = (dy + ws - ows + 1) * (ws + ows - 1) + dx + ws - ows + 1;
    }
  }
  return out;
}

const isShifted = (h: HatHyperparameters, block: number) => block % 2 === 1 && h.imgSize > h.windowSize;
const overlapSize = (h: Pick<HatHyperparameters, 'windowSize' | 'overlapRatio'>) => h.windowSize + Math.floor(h.overlapRatio * h.windowSize);

function expectedShapes(h: HatHyperparameters): Map<string, readonly number[]> {
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
    if (h.resiConnection === '1conv') conv(prefix, E, E, 3);
  };
  const hidden = Math.floor(E * h.mlpRatio);
  const cab = E / h.compressRatio;
  const sq = E / h.squeezeFactor;
  const ows = overlapSize(h);
  conv('conv_first', E, h.inChans, 3);
  if (h.patchNorm) vector('patch_embed.norm');
  h.depths.forEach((depth, i) => {
    const heads = h.numHeads[i]!;
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.residual_group.blocks.${j}`;
      vector(`${p}.norm1`);
      shapes.set(`${p}.attn.relative_position_bias_table`, [(2 * h.windowSize - 1) ** 2, heads]);
      linear(`${p}.attn.qkv`, 3 * E, E);
      linear(`${p}.attn.proj`, E, E);
      conv(`${p}.conv_block.cab.0`, cab, E, 3);
      conv(`${p}.conv_block.cab.2`, E, cab, 3);
      conv(`${p}.conv_block.cab.3.attention.1`, sq, E, 1);
      conv(`${p}.conv_block.cab.3.attention.3`, E, sq, 1);
      vector(`${p}.norm2`);
      linear(`${p}.mlp.fc1`, hidden, E);
      linear(`${p}.mlp.fc2`, E, hidden);
    }
    const o = `layers.${i}.residual_group.overlap_attn`;
    vector(`${o}.norm1`);
    linear(`${o}.qkv`, 3 * E, E);
    shapes.set(`${o}.relative_position_bias_table`, [(h.windowSize + ows - 1) ** 2, heads]);
    linear(`${o}.proj`, E, E);
    vector(`${o}.norm2`);
    linear(`${o}.mlp.fc1`, hidden, E);
    linear(`${o}.mlp.fc2`, E, hidden);
    resi(`layers.${i}.conv`);
  });
  vector('norm');
  resi('conv_after_body');
  conv('conv_before_upsample.0', h.numFeat, E, 3);
  if (h.scale === 3) conv('upsample.0', 9 * h.numFeat, h.numFeat, 3);
  else for (let k = 0; 2 ** k < h.scale; k++) conv(`upsample.${2 * k}`, 4 * h.numFeat, h.numFeat, 3);
  conv('conv_last', h.inChans, h.numFeat, 3);
  return shapes;
}

/** The two index buffers: shape and values (upstream's raw values, or wrapped into the table). */
function checkBuffer(stateDict: StateDict, name: string, expected: Int32Array, shape: number[], tableSize: number, problems: string[]): void {
  const entry = stateDict.get(name);
  if (!entry) return void problems.push(`missing tensor ${name} (expected shape ${fmt(shape)})`);
  if (entry.shape.length !== 2 || entry.shape[0] !== shape[0] || entry.shape[1] !== shape[1]) {
    return void problems.push(`tensor ${name} has shape ${fmt(entry.shape)}, expected ${fmt(shape)}`);
  }
  const values = Array.from(entry.data as ArrayLike<number | bigint>, Number);
  const wrap = (v: number) => ((v % tableSize) + tableSize) % tableSize;
  if (!values.every((v, k) => wrap(v) === wrap(expected[k]!))) problems.push(`tensor ${name} is not HAT's relative position index for these windows`);
}


/** HAT hyperparameters when the names say HAT, undefined otherwise; throws BadCheckpointError naming a wrong tensor. */
export function detectHat(stateDict: StateDict, overrides: ArchitectureOverrides = {}): HatHyperparameters | undefined {
  const keys = [...stateDict.keys()];
  if (!stateDict.has('conv_first.weight') || !keys.some((k) => SIG.test(k)) || !stateDict.has('relative_position_index_SA')) return undefined;
  if (!stateDict.has('conv_before_upsample.0.weight') || !stateDict.has('upsample.0.weight')) {
    throw new UnsupportedArchitectureError(`${HAT_ARCHITECTURE} without the 'pixelshuffle' upsampler is not supported`, {
      details: { architecture: HAT_ARCHITECTURE },
    });
  }
  const first = shapeOf(stateDict, 'conv_first.weight', '[embed_dim, 3, 3, 3]');
  if (first.length !== 4 || first[1] !== 3 || first[2] !== 3 || first[3] !== 3 || first[0]! < 1) bad('conv_first.weight', first, '[embed_dim, 3, 3, 3] (RGB models only)');
  const E = first[0]!;
  const sa = shapeOf(stateDict, 'relative_position_index_SA', '[ws^2, ws^2]');
  const windowSize = Math.round(Math.sqrt(sa[0] ?? 0));
  if (sa.length !== 2 || windowSize < 2 || windowSize ** 2 !== sa[0] || sa[1] !== sa[0]) bad('relative_position_index_SA', sa, '[ws^2, ws^2] for a window size ws');
  const oca = shapeOf(stateDict, 'relative_position_index_OCA', `[${windowSize ** 2}, ows^2]`);
  const ows = Math.round(Math.sqrt(oca[1] ?? 0));
  if (oca.length !== 2 || oca[0] !== windowSize ** 2 || ows * ows !== oca[1] || ows < windowSize || (ows - windowSize) % 2 !== 0) {
    bad('relative_position_index_OCA', oca, `[${windowSize ** 2}, ows^2] with ows - ${windowSize} even and >= 0`);
  }
  const b0 = 'layers.0.residual_group.blocks.0';
  const fc1 = shapeOf(stateDict, `${b0}.mlp.fc1.weight`, `[hidden, ${E}]`);
  if (fc1.length !== 2 || fc1[1] !== E || fc1[0]! < 1) bad(`${b0}.mlp.fc1.weight`, fc1, `[hidden, ${E}]`);
  const cab = shapeOf(stateDict, `${b0}.conv_block.cab.0.weight`, `[${E} / compress_ratio, ${E}, 3, 3]`);
  if (cab.length !== 4 || cab[0]! < 1 || E % cab[0]! !== 0 || cab[1] !== E) bad(`${b0}.conv_block.cab.0.weight`, cab, `[${E} / compress_ratio, ${E}, 3, 3]`);
  const sqName = `${b0}.conv_block.cab.3.attention.1.weight`;
  const sq = shapeOf(stateDict, sqName, `[${E} / squeeze_factor, ${E}, 1, 1]`);
  if (sq.length !== 4 || sq[0]! < 1 || E % sq[0]! !== 0 || sq[1] !== E) bad(sqName, sq, `[${E} / squeeze_factor, ${E}, 1, 1]`);

  const layers = countIndices(stateDict, 'layers');
  const depths: number[] = [];
  const numHeads: number[] = [];
  for (let i = 0; i < layers; i++) {
    const depth = countIndices(stateDict, `layers.${i}.residual_group.blocks`);
    if (depth < 1) throw new BadCheckpointError(`${HAT_ARCHITECTURE}: layer ${i} has no blocks (no tensor layers.${i}.residual_group.blocks.0.*)`);
    depths.push(depth);
    const tableName = `layers.${i}.residual_group.blocks.0.attn.relative_position_bias_table`;
    const table = shapeOf(stateDict, tableName, `[${(2 * windowSize - 1) ** 2}, heads]`);
    const heads = table[1] ?? 0;
    if (table.length !== 2 || table[0] !== (2 * windowSize - 1) ** 2 || heads < 1 || E % heads !== 0) {
      bad(tableName, table, `[${(2 * windowSize - 1) ** 2}, heads] with heads dividing ${E}`);
    }
    numHeads.push(heads);
  }
  const before = shapeOf(stateDict, 'conv_before_upsample.0.weight', `[num_feat, ${E}, 3, 3]`);
  if (before.length !== 4 || before[0]! < 1 || before[1] !== E) bad('conv_before_upsample.0.weight', before, `[num_feat, ${E}, 3, 3]`);
  const numFeat = before[0]!;
  const up = shapeOf(stateDict, 'upsample.0.weight', `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);
  let scale = 0;
  if (up[0] === 9 * numFeat) scale = 3;
  else if (up[0] === 4 * numFeat) scale = 2 ** Math.ceil(countIndices(stateDict, 'upsample') / 2);
  else bad('upsample.0.weight', up, `[4 * ${numFeat} or 9 * ${numFeat}, ${numFeat}, 3, 3]`);

  const h: HatHyperparameters = {
    inChans: 3,
    embedDim: E,
    depths,
    numHeads,
    windowSize,
    overlapRatio: (ows - windowSize) / windowSize,
    compressRatio: E / cab[0]!,
    squeezeFactor: E / sq[0]!,
    convScale: HAT_CONV_SCALE,
    mlpRatio: fc1[0]! / E,
    scale,
    imgRange: 1,
    upsampler: 'pixelshuffle',
    resiConnection: stateDict.has('conv_after_body.weight') ? '1conv' : 'identity',
    numFeat,
    imgSize: DEFAULT_IMG_SIZE,
    patchNorm: stateDict.has('patch_embed.norm.weight'),
  };
  const expected = expectedShapes(h);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  const known = new Set(expected.keys());
  known.add('relative_position_index_SA');
  known.add('relative_position_index_OCA');
  const n = windowSize ** 2;
  checkBuffer(stateDict, 'relative_position_index_SA', relativePositionIndex(windowSize), [n, n], (2 * windowSize - 1) ** 2, problems);
  checkBuffer(stateDict, 'relative_position_index_OCA', ocaIndex(windowSize, ows), [n, ows * ows], (windowSize + ows - 1) ** 2, problems);
  const unexpected = keys.filter((k) => !known.has(k));
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${HAT_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
  checkRgbUpscalerOverrides(HAT_ARCHITECTURE, overrides, scale);
  return h;
}

// ---- geometry and cost -----------------------------------------------------------------------

/**
 * The tile pad superres uses: MEASURED, not exact (see swinir.ts; HAT adds the OCAB's overlap and
 * the CAB's channel attention, which averages over the whole tile). One window per HAB and per
 * OCAB: window_size x (sum(depths) + groups). tools/reference/make_hat_fixtures.py measured 16 for
 * both fixtures (window 4, 4 HABs, 2 OCABs: radius 24).
 */
export function hatReceptiveRadius(h: HatHyperparameters): number {
  return h.windowSize * (h.depths.reduce((a, b) => a + b, 0) + h.depths.length);
}

export function hatGeometry(h: HatHyperparameters): ArchitectureGeometry {
  const E = h.embedDim;
  const heads = Math.max(...h.numHeads);
  const ows = overlapSize(h);
  return {
    scale: h.scale,
    alignment: referenceAlignment(h.scale),
    receptiveRadius: hatReceptiveRadius(h),
    tileMultiple: h.windowSize,
    workingBytesPerPixel: workingBytesPerPixel({
      widestChannels: Math.max(3 * E, Math.floor(E * h.mlpRatio), heads * ows * ows, h.numFeat * h.scale ** 2),
      inChannels: 3,
      outChannels: 3,
      scale: h.scale,
    }),
  };
}

/** MACs per output pixel: convolutions, linear layers, window attention (2 ws^2 E per token) and OCAB attention (2 ows^2 E). */
export function hatMacsPerOutputPixel(h: HatHyperparameters): number {
  const E = h.embedDim;
  const n = h.windowSize ** 2;
  const m = overlapSize(h) ** 2;
  const hidden = Math.floor(E * h.mlpRatio);
  const c = E / h.compressRatio;
  const resi = h.resiConnection === '1conv' ? 9 * E * E : 0;
  const blocks = h.depths.reduce((a, b) => a + b, 0);
  const hab = 3 * E * E + 2 * n * E + E * E + 2 * E * hidden + 9 * E * c * 2;
  const ocab = 3 * E * E + 2 * m * E + E * E + 2 * E * hidden;
  let macs = 9 * 3 * E + blocks * hab + h.depths.length * ocab + (h.depths.length + 1) * resi;
  // The channel attention's 1x1 convolutions run once per image: left out, as norms are.
  const nf = h.numFeat;
  const s2 = h.scale ** 2;
  macs += 9 * E * nf;
  if (h.scale === 3) macs += 9 * nf * 9 * nf;
  else for (let area = 1; area < s2; area *= 4) macs += area * 9 * nf * 4 * nf;
  macs += s2 * 9 * nf * 3;
  return macs / s2;
}

// ---- ONNX graph ------------------------------------------------------------------------------

/** The CAB on norm1's output (NHWC), returned as conv_scale x CAB, NHWC. */
function cabTerm(graph: SwinirGraph, h: HatHyperparameters, p: string, normed: string): string {
  const { g } = graph;
  const c = `${p}.conv_block.cab`;
  g.node('Transpose', [normed], [`${c}.in`], { perm: attr.ints([0, 3, 1, 2]) });
  graph.conv(`${c}.0`, `${c}.in`);
  graph.gelu(`${c}.0`, `${c}.1`);
  graph.conv(`${c}.2`, `${c}.1`);
  g.node('ReduceMean', [`${c}.2`], [`${c}.pool`], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
  graph.conv(`${c}.3.attention.1`, `${c}.pool`);
  g.node('Relu', [`${c}.3.attention.1`], [`${c}.3.attention.2`]);
  graph.conv(`${c}.3.attention.3`, `${c}.3.attention.2`);
  g.node('Sigmoid', [`${c}.3.attention.3`], [`${c}.3.attention.4`]);
  g.node('Mul', [`${c}.2`, `${c}.3.attention.4`], [`${c}.3`]);
  g.node('Transpose', [`${c}.3`], [`${c}.nhwc`], { perm: attr.ints([0, 2, 3, 1]) });
  g.node('Mul', [`${c}.nhwc`, graph.scalar(h.convScale)], [`${c}.scaled`]);
  return `${c}.scaled`;
}

/** The OCAB's bias [heads, ws^2, ows^2], gathered at build time (indices wrapped as PyTorch does). */
function ocaBias(stateDict: StateDict, prefix: string, ws: number, ows: number, heads: number): Float32Array {
  const table = floatTensor(stateDict, `${prefix}.relative_position_bias_table`).data;
  const size = (ws + ows - 1) ** 2;
  const index = ocaIndex(ws, ows);
  const nm = index.length;
  const out = new Float32Array(heads * nm);
  for (let hd = 0; hd < heads; hd++) {
    for (let k = 0; k < nm; k++) out[hd * nm + k] = table[(((index[k]! % size) + size) % size) * heads + hd]!;
  }
  return out;
}

function ocab(graph: SwinirGraph, stateDict: StateDict, h: HatHyperparameters, x: string, p: string, heads: number, sizes: Sizes): string {
  const { g } = graph;
  const E = h.embedDim;
  const ws = h.windowSize;
  const ows = overlapSize(h);
  const pad = (ows - ws) / 2;
  const n = ws * ws;
  const m = ows * ows;
  const d = E / heads;
  const y = graph.layerNorm(`${p}.norm1`, x, `${p}.norm1`);
  graph.linear(`${p}.qkv`, y);
  // q: channels [0, E) in ws x ws windows.
  g.node('Slice', [`${p}.qkv`, graph.int64([0]), graph.int64([E]), graph.int64([3])], [`${p}.q_image`]);
  g.node('Concat', [graph.int64([-1]), sizes.nh, graph.int64([ws]), sizes.nw, graph.int64([ws, E])], [`${p}.q_grid_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.q_image`, `${p}.q_grid_shape`], [`${p}.q_grid`]);
  g.node('Transpose', [`${p}.q_grid`], [`${p}.q_grid_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Reshape', [`${p}.q_grid_t`, graph.int64([-1, n, heads, d])], [`${p}.q_heads`]);
  g.node('Transpose', [`${p}.q_heads`], [`${p}.q`], { perm: attr.ints([0, 2, 1, 3]) });
  g.node('Mul', [`${p}.q`, graph.scalar(d ** -0.5)], [`${p}.q_scaled`]);
  // k, v: channels [E, 3E), zero padded, ows x ows windows at stride ws (nn.Unfold), gathered by index.
  g.node('Slice', [`${p}.qkv`, graph.int64([E]), graph.int64([3 * E]), graph.int64([3])], [`${p}.kv_image`]);
  g.node('Pad', [`${p}.kv_image`, graph.int64([0, pad, pad, 0, 0, pad, pad, 0])], [`${p}.kv_padded`], { mode: attr.string('constant') });
  g.initializer(`${p}.offsets`, [1, ows], new BigInt64Array(Array.from({ length: ows }, (_, k) => BigInt(k))));
  const rows: string[] = [];
  for (const [axis, count] of [
    ['h', sizes.nh],
    ['w', sizes.nw],
  ] as const) {
    const name = `${p}.${axis}`;
    g.node('Squeeze', [count], [`${name}.count`]);
    g.node('Range', [graph.int64([0], true), `${name}.count`, graph.int64([1], true)], [`${name}.window`]);
    g.node('Mul', [`${name}.window`, graph.int64([ws], true)], [`${name}.start`]);
    g.node('Unsqueeze', [`${name}.start`, graph.int64([1])], [`${name}.start2`]);
    g.node('Add', [`${name}.start2`, `${p}.offsets`], [`${name}.index`]);
    rows.push(`${name}.index`);
  }
  // [B, Hp+2p, Wp+2p, 2E] -> [B, nh, ows, Wp+2p, 2E] -> [B, nh, ows, nw, ows, 2E].
  g.node('Gather', [`${p}.kv_padded`, rows[0]!], [`${p}.kv_rows`], { axis: attr.int(1) });
  g.node('Gather', [`${p}.kv_rows`, rows[1]!], [`${p}.kv_grid`], { axis: attr.int(3) });
  g.node('Transpose', [`${p}.kv_grid`], [`${p}.kv_grid_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Reshape', [`${p}.kv_grid_t`, graph.int64([-1, m, 2 * E])], [`${p}.kv_windows`]);
  for (const [i, part] of ['k', 'v'].entries()) {
    g.node('Slice', [`${p}.kv_windows`, graph.int64([i * E]), graph.int64([(i + 1) * E]), graph.int64([2])], [`${p}.${part}_windows`]);
    g.node('Reshape', [`${p}.${part}_windows`, graph.int64([0, m, heads, d])], [`${p}.${part}_heads`]);
    g.node('Transpose', [`${p}.${part}_heads`], [`${p}.${part}`], { perm: attr.ints(part === 'k' ? [0, 2, 3, 1] : [0, 2, 1, 3]) });
  }
  g.node('MatMul', [`${p}.q_scaled`, `${p}.k`], [`${p}.scores`]);
  g.initializer(`${p}.position_bias`, [heads, n, m], ocaBias(stateDict, p, ws, ows, heads));
  g.node('Add', [`${p}.scores`, `${p}.position_bias`], [`${p}.biased`]);
  g.node('Softmax', [`${p}.biased`], [`${p}.weights`], { axis: attr.int(-1) });
  g.node('MatMul', [`${p}.weights`, `${p}.v`], [`${p}.mixed`]);
  g.node('Transpose', [`${p}.mixed`], [`${p}.mixed_t`], { perm: attr.ints([0, 2, 1, 3]) });
  // Window reverse: [B, nh, nw, ws, ws, E] -> [B, nh, ws, nw, ws, E] -> [B, Hp, Wp, E].
  g.node('Concat', [graph.int64([-1]), sizes.nh, sizes.nw, graph.int64([ws, ws, E])], [`${p}.back_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.mixed_t`, `${p}.back_shape`], [`${p}.back`]);
  g.node('Transpose', [`${p}.back`], [`${p}.back_t`], { perm: attr.ints([0, 1, 3, 2, 4, 5]) });
  g.node('Concat', [graph.int64([-1]), sizes.Hp, sizes.Wp, graph.int64([E])], [`${p}.image_shape`], { axis: attr.int(0) });
  g.node('Reshape', [`${p}.back_t`, `${p}.image_shape`], [`${p}.image`]);
  graph.linear(`${p}.proj`, `${p}.image`);
  g.node('Add', [`${p}.proj`, x], [`${p}.x1`]);
  graph.layerNorm(`${p}.norm2`, `${p}.x1`, `${p}.norm2`);
  graph.linear(`${p}.mlp.fc1`, `${p}.norm2`);
  graph.gelu(`${p}.mlp.fc1`, `${p}.mlp.act`);
  graph.linear(`${p}.mlp.fc2`, `${p}.mlp.act`);
  g.node('Add', [`${p}.x1`, `${p}.mlp.fc2`], [p]);
  return p;
}

/** The ONNX graph: input `input` [N, 3, H, W] (dynamic N, H, W), output `output` [N, 3, H s, W s]. */
export function buildHatOnnx(stateDict: StateDict, h: HatHyperparameters): Uint8Array {
  const graph = new SwinirGraph(stateDict, HAT_ARCHITECTURE);
  const { g } = graph;
  const { first, tokens, sizes, mask } = swinEntry(graph, h);
  let t = tokens;
  const oneConv = (x: string, prefix: string) => (h.resiConnection === '1conv' ? resiConv(graph, { resiConnection: '1conv' }, prefix, x) : x);
  h.depths.forEach((depth, i) => {
    const layerIn = t;
    const heads = h.numHeads[i]!;
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.residual_group.blocks.${j}`;
      t = swinBlock(graph, h, t, p, heads, isShifted(h, j), sizes, mask, (normed) => cabTerm(graph, h, p, normed));
    }
    t = ocab(graph, stateDict, h, t, `layers.${i}.residual_group.overlap_attn`, heads, sizes);
    g.node('Transpose', [t], [`layers.${i}.image`], { perm: attr.ints([0, 3, 1, 2]) });
    const conv = oneConv(`layers.${i}.image`, `layers.${i}.conv`);
    g.node('Transpose', [conv], [`layers.${i}.tokens`], { perm: attr.ints([0, 2, 3, 1]) });
    g.node('Add', [`layers.${i}.tokens`, layerIn], [`layers.${i}`]);
    t = `layers.${i}`;
  });
  return swinExit(graph, h, t, first, (features) => oneConv(features, 'conv_after_body'), {
    architecture: HAT_ARCHITECTURE,
    docString: `${HAT_ARCHITECTURE} x${h.scale} (depths [${h.depths.join(', ')}], embed_dim ${h.embedDim}, window ${h.windowSize}), converted from a PyTorch state dict by superres`,
    geometry: hatGeometry(h),
    hyperparameters: h,
  });
}

// ---- registry module -------------------------------------------------------------------------

export const hatArchitecture: Architecture<HatHyperparameters> = {
  name: HAT_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^conv_first\.(weight|bias)$/,
    /^relative_position_index_(SA|OCA)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.(norm[12]|attn\.(qkv|proj)|mlp\.fc[12])\.(weight|bias)$/,
    /^layers\.\d+\.residual_group\.blocks\.\d+\.conv_block\.cab\./,
    /^layers\.\d+\.residual_group\.overlap_attn\./,
    /^layers\.\d+\.conv\.(\d\.)?(weight|bias)$/,
    /^conv_after_body\.(\d\.)?(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectHat(stateDict, overrides),
  geometry: hatGeometry,
  macsPerOutputPixel: hatMacsPerOutputPixel,
  build: (stateDict, hyper) => buildHatOnnx(stateDict, hyper),
};
