/**
 * OmniSR ("Omni Aggregation Networks for Lightweight Image Super-Resolution", CVPR 2023; the
 * authors' Francis0625/Omni-SR, as spandrel detects and defines it in
 * libs/spandrel/spandrel/architectures/OmniSR): hyperparameters read from a state dict, geometry,
 * cost, and the ONNX graph. tools/reference/omnisr_arch.py is the PyTorch reference.
 *
 * out = crop(pixel_shuffle(up(output(groups(f)) + f))), f = input(zero-pad x to a multiple of
 * the window size); each OSAG group: OSA blocks, a conv1x1, + the group's input, then ESA. An OSA
 * block (`layer.<i>`): 0 MBConv (conv1x1, GELU, depthwise 3x3, GELU, squeeze-excitation, conv1x1,
 * + input); 2 LayerNorm + window attention (relative position bias when `pe`); 4, 6, 10, 12
 * LayerNorm2d + gated conv feed-forward; 5 LayerNorm2d + channel attention per window; 8 LayerNorm
 * + grid attention (windows of pixels H/w apart); 11 LayerNorm2d + channel attention over each of
 * the w^2 strided grids of the whole image. Every sublayer adds its input back.
 */
import { BadCheckpointError, InvalidOptionError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { referenceAlignment } from './srvgg.js';
import { exactGelu, l2Normalize } from './graph-ops.js';
import { countIndices, floatTensor, listNames, shapeErrors, tensorProblem, type ShapeErrors } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const OMNISR_ARCHITECTURE = 'OmniSR';
// Annotated: a call to a `never` function narrows only through an explicitly typed name.
const bad: ShapeErrors['bad'] = shapeErrors(OMNISR_ARCHITECTURE).bad;
/** The window size spandrel assumes when no relative position bias says it (pe false). */
export const OMNISR_DEFAULT_WINDOW = 8;
/**
 * The tile pad: MEASURED, not an exact radius. OmniSR is not tile-exact at any pad: the
 * squeeze-excitation in every MBConv averages the whole tile, the grid attention's windows hold
 * pixels H/w apart across the whole window-padded tile, the grid channel attention's statistics
 * span it, and the zero padding to the window depends on the tile's size.
 * tools/reference/make_omnisr_fixtures.py ran its random-weight networks (num_feat 16; windows 4
 * and 8; x2 and x4) in PyTorch with tile 16 and pads 16, 24, ..., 64 (multiples of the windows, so
 * that tiles' windows line up with the whole image's; other pads move values by up to 255), on
 * the 45x38 fixture input and a 96x80 one, comparing the tiled 8-bit output with the whole
 * image's. On 45x38 it is within 1/255 from pad 32 (tiles then span the image); on 96x80 no pad
 * measured reaches 1/255: the max difference still drops at 64 (31-64 levels; mean 0.8-1.5, from
 * 8-15 at pad 16). 64 is the largest pad measured, recorded in the manifest's
 * tile_pad_measurement. Trained weights will measure differently; these are what we can measure.
 */
export const OMNISR_MEASURED_TILE_PAD = 64;
const LAYER_NORM_EPS = 1e-5;
const LAYER_NORM_2D_EPS = 1e-6;
/** Attention heads: dim_head = num_feat / 4 (window/grid attention); channel attention has 4. */
const HEADS = 4;

export interface OmniSrHyperparameters {
  readonly numInCh: number;
  readonly numOutCh: number;
  readonly numFeat: number;
  /** OSA blocks per group. */
  readonly blockNum: number;
  /** OSAG groups. */
  readonly resNum: number;
  /** Relative position bias in the window and grid attention. */
  readonly pe: boolean;
  readonly windowSize: number;
  readonly scale: number;
  /** Biases on the input, output, up and group convolutions. */
  readonly bias: boolean;
}

/** What a state dict without position bias cannot say for itself. */
export interface OmniSrOverrides {
  /** The window size of a checkpoint without relative position bias (8 unless told). */
  windowSize?: number;
}

// ---- detection -------------------------------------------------------------------------------

const DETECT_KEYS = ['residual_layer.0.residual_layer.0.layer.0.fn.0.weight', 'input.weight', 'up.0.weight'];

/** Bookkeeping some training tools leave in the state dict (thop's counters, the index buffer). */
const ignored = (key: string) => /(^|\.)(total_ops|total_params|rel_pos_indices)$/.test(key);



/** scale^2 * outCh = channels, trying outCh = inCh, 3, 4, 1 (spandrel's order). */
function scaleAndOutCh(channels: number, inCh: number): [number, number] | undefined {
  for (const c of [inCh, 3, 4, 1]) {
    if (channels % c !== 0) continue;
    const s = Math.round(Math.sqrt(channels / c));
    if (s * s === channels / c) return [s, c];
  }
  return undefined;
}

function expectedShapes(h: OmniSrHyperparameters): Map<string, readonly number[]> {
  const C = h.numFeat;
  const f = Math.max(Math.floor(C / 4), 16);
  const hidden = Math.floor(C * 0.25);
  const shapes = new Map<string, readonly number[]>();
  const conv = (prefix: string, out: number, input: number, k: number, bias: boolean) => {
    shapes.set(`${prefix}.weight`, [out, input, k, k]);
    if (bias) shapes.set(`${prefix}.bias`, [out]);
  };
  const norm = (prefix: string) => {
    shapes.set(`${prefix}.weight`, [C]);
    shapes.set(`${prefix}.bias`, [C]);
  };
  conv('input', C, h.numInCh, 3, h.bias);
  conv('output', C, C, 3, h.bias);
  conv('up.0', h.numOutCh * h.scale ** 2, C, 3, h.bias);
  for (let g = 0; g < h.resNum; g++) {
    const gp = `residual_layer.${g}`;
    for (let b = 0; b < h.blockNum; b++) {
      const p = `${gp}.residual_layer.${b}.layer`;
      conv(`${p}.0.fn.0`, C, C, 1, true);
      conv(`${p}.0.fn.2`, C, 1, 3, true);
      shapes.set(`${p}.0.fn.4.gate.1.weight`, [hidden, C]);
      shapes.set(`${p}.0.fn.4.gate.3.weight`, [C, hidden]);
      conv(`${p}.0.fn.5`, C, C, 1, true);
      for (const i of [2, 8]) {
        norm(`${p}.${i}.norm`);
        shapes.set(`${p}.${i}.fn.to_qkv.weight`, [3 * C, C]);
        shapes.set(`${p}.${i}.fn.to_out.0.weight`, [C, C]);
        if (h.pe) shapes.set(`${p}.${i}.fn.rel_pos_bias.weight`, [(2 * h.windowSize - 1) ** 2, HEADS]);
      }
      for (const i of [4, 6, 10, 12]) {
        norm(`${p}.${i}.norm`);
        conv(`${p}.${i}.fn.project_in`, 2 * C, C, 1, false);
        conv(`${p}.${i}.fn.dwconv`, 2 * C, 1, 3, false);
        conv(`${p}.${i}.fn.project_out`, C, C, 1, false);
      }
      for (const i of [5, 11]) {
        norm(`${p}.${i}.norm`);
        shapes.set(`${p}.${i}.fn.temperature`, [HEADS, 1, 1]);
        conv(`${p}.${i}.fn.qkv`, 3 * C, C, 1, false);
        conv(`${p}.${i}.fn.qkv_dwconv`, 3 * C, 1, 3, false);
        conv(`${p}.${i}.fn.project_out`, C, C, 1, false);
      }
    }
    conv(`${gp}.residual_layer.${h.blockNum}`, C, C, 1, h.bias);
    conv(`${gp}.esa.conv1`, f, C, 1, true);
    conv(`${gp}.esa.conv_f`, f, f, 1, true);
    conv(`${gp}.esa.conv2`, f, f, 3, true);
    conv(`${gp}.esa.conv3`, f, f, 3, true);
    conv(`${gp}.esa.conv4`, C, f, 1, true);
  }
  return shapes;
}

function windowOverride(overrides: ArchitectureOverrides): number | undefined {
  const given = overrides.windowSize;
  if (given === undefined) return undefined;
  if (typeof given !== 'number' || !Number.isInteger(given) || given < 1) {
    throw new InvalidOptionError(`Option windowSize must be a positive integer, got ${String(given)}`, {
      details: { option: 'windowSize' },
    });
  }
  return given;
}

/** OmniSR hyperparameters when the names say OmniSR (spandrel's keys), undefined otherwise. */
export function detectOmniSr(stateDict: StateDict, overrides: ArchitectureOverrides = {}): OmniSrHyperparameters | undefined {
  if (!DETECT_KEYS.every((k) => stateDict.has(k))) return undefined;
  const sd: StateDict = new Map([...stateDict].filter(([k]) => !ignored(k)));
  const input = sd.get('input.weight')!.shape;
  if (input.length !== 4 || input[2] !== 3 || input[3] !== 3 || input[0]! < 4 || input[0]! % 4 !== 0) {
    bad('input.weight', input, '[num_feat (a multiple of 4), num_in_ch, 3, 3]');
  }
  const numFeat = input[0]!;
  const numInCh = input[1]!;
  const up = sd.get('up.0.weight')!.shape;
  const so = up.length === 4 ? scaleAndOutCh(up[0]!, numInCh) : undefined;
  if (!so || up[1] !== numFeat || up[2] !== 3 || up[3] !== 3) bad('up.0.weight', up, `[out_ch * scale^2, ${numFeat}, 3, 3]`);
  const [scale, numOutCh] = so;
  const resNum = countIndices(sd, 'residual_layer');
  const blockNum = countIndices(sd, 'residual_layer.0.residual_layer') - 1;
  const relName = 'residual_layer.0.residual_layer.0.layer.2.fn.rel_pos_bias.weight';
  const rel = sd.get(relName)?.shape;
  const given = windowOverride(overrides);
  let windowSize = given ?? OMNISR_DEFAULT_WINDOW;
  if (rel) {
    const w = (Math.sqrt(rel[0] ?? 0) + 1) / 2;
    if (rel.length !== 2 || !Number.isInteger(w) || w < 1 || rel[1] !== HEADS) bad(relName, rel, `[(2 window - 1)^2, ${HEADS}]`);
    if (given !== undefined && given !== w) {
      throw new InvalidOptionError(`Option windowSize is ${given}, but this ${OMNISR_ARCHITECTURE} checkpoint's position bias gives ${w}`, {
        details: { option: 'windowSize' },
      });
    }
    windowSize = w;
  }
  if (overrides.upscale !== undefined && overrides.upscale !== scale) {
    throw new InvalidOptionError(`Option upscale is ${String(overrides.upscale)}, but this ${OMNISR_ARCHITECTURE} checkpoint's up conv gives x${scale}`, {
      details: { option: 'upscale' },
    });
  }
  for (const option of ['activation', 'numOutCh', 'normGroups'] as const) {
    if (overrides[option] !== undefined && !(option === 'numOutCh' && overrides.numOutCh === numOutCh)) {
      throw new InvalidOptionError(`Option ${option} does not apply to ${OMNISR_ARCHITECTURE}`, { details: { option } });
    }
  }
  const h: OmniSrHyperparameters = {
    numInCh,
    numOutCh,
    numFeat,
    blockNum,
    resNum,
    pe: rel !== undefined,
    windowSize,
    scale,
    bias: sd.has('input.bias'),
  };
  const expected = expectedShapes(h);
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(sd, name, shape);
    if (problem) problems.push(problem);
  }
  const unexpected = [...sd.keys()].filter((k) => !expected.has(k));
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${OMNISR_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
  return h;
}

// ---- geometry and cost -----------------------------------------------------------------------

export function omniSrGeometry(h: OmniSrHyperparameters): ArchitectureGeometry {
  return {
    scale: h.scale,
    // The graph pads to the window itself (from its input's shape at run time): tiles need only
    // the pipeline's alignment, as RealESRGANer's.
    alignment: referenceAlignment(h.scale),
    receptiveRadius: OMNISR_MEASURED_TILE_PAD,
    // Tiles keep the image's window grid: a tile or pad off the grid shifts every window.
    tileMultiple: h.windowSize,
    workingBytesPerPixel: workingBytesPerPixel({
      // q, k, v; the attention scores (heads x w^2 per pixel); the up conv's output.
      widestChannels: Math.max(3 * h.numFeat, HEADS * h.windowSize ** 2, h.numOutCh * h.scale ** 2),
      inChannels: h.numInCh,
      outChannels: h.numOutCh,
      scale: h.scale,
    }),
  };
}

/**
 * Multiply-accumulates per output pixel: convolutions and linear layers per pixel, the window and
 * grid attention's scores and aggregation (w^2 keys of C/heads channels per head: 2 w^2 C per
 * pixel each), the channel attentions' (C^2/4 each way per pixel), ESA's strided convs at their
 * resolution (1/4 and about 1/36 of the pixels). Norms, activations, the squeeze-excitation's
 * per-image work and the window padding left out.
 */
export function omniSrMacsPerOutputPixel(h: OmniSrHyperparameters): number {
  const C = h.numFeat;
  const f = Math.max(Math.floor(C / 4), 16);
  const w2 = h.windowSize ** 2;
  const mbconv = 2 * C * C + 9 * C;
  const attention = 4 * C * C + 2 * w2 * C;
  const feedForward = 3 * C * C + 18 * C;
  const channelAttention = 4 * C * C + 27 * C + (C * C) / 2;
  const block = mbconv + 2 * attention + 4 * feedForward + 2 * channelAttention;
  const esa = C * f + f * f + f * C + (9 * f * f) / 4 + (9 * f * f) / 36;
  const group = h.blockNum * block + C * C + esa;
  const perInputPixel = 9 * h.numInCh * C + h.resNum * group + 9 * C * C + 9 * C * h.numOutCh * h.scale ** 2;
  return perInputPixel / h.scale ** 2;
}

// ---- ONNX graph ------------------------------------------------------------------------------

/** The graph builder with the constants, shapes and layers OmniSR needs. */
class OmniSrGraphBuilder extends OnnxGraphBuilder {
  private scalars = new Map<number, string>();
  private ints = new Map<string, string>();

  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (!name) {
      name = `const.${this.scalars.size}`;
      this.initializer(name, [], new Float32Array([value]));
      this.scalars.set(value, name);
    }
    return name;
  }

  /** An int64 vector initializer, shared. */
  int64(values: readonly number[]): string {
    const key = values.join(',');
    let name = this.ints.get(key);
    if (!name) {
      name = `int64.${this.ints.size}`;
      this.initializer(name, [values.length], new BigInt64Array(values.map((v) => BigInt(v))));
      this.ints.set(key, name);
    }
    return name;
  }

  /** A shape vector: numbers are constants, strings 1-element int64 tensors of the graph. */
  shape(parts: readonly (number | string)[], out: string): string {
    const inputs: string[] = [];
    let run: number[] = [];
    for (const part of parts) {
      if (typeof part === 'number') {
        run.push(part);
        continue;
      }
      if (run.length) inputs.push(this.int64(run));
      run = [];
      inputs.push(part);
    }
    if (run.length) inputs.push(this.int64(run));
    this.node('Concat', inputs, [out], { axis: attr.int(0) });
    return out;
  }
}

/** The ONNX graph: input `input` [N, C, H, W] (dynamic N, H, W), output `output` [N, C', H s, W s]. */
export function buildOmniSrOnnx(stateDict: StateDict, h: OmniSrHyperparameters): Uint8Array {
  const g = new OmniSrGraphBuilder(OMNISR_ARCHITECTURE);
  const added = new Set<string>();
  const C = h.numFeat;
  const w = h.windowSize;
  const dh = C / HEADS;

  const param = (name: string, shape?: readonly number[]): string => {
    if (!added.has(name)) {
      const t = floatTensor(stateDict, name);
      g.initializer(name, shape ?? t.shape, t.data);
      added.add(name);
    }
    return name;
  };
  const conv = (prefix: string, x: string, out: string, opts: { group?: number; stride?: number; pad?: number } = {}): string => {
    const [, , kh, kw] = stateDict.get(`${prefix}.weight`)!.shape as [number, number, number, number];
    const p = opts.pad ?? Math.floor(kh / 2);
    const inputs = [x, param(`${prefix}.weight`)];
    if (stateDict.has(`${prefix}.bias`)) inputs.push(param(`${prefix}.bias`));
    g.node('Conv', inputs, [out], {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([p, p, p, p]),
      strides: attr.ints([opts.stride ?? 1, opts.stride ?? 1]),
      dilations: attr.ints([1, 1]),
      group: attr.int(opts.group ?? 1),
    });
    return out;
  };
  /** A bias-free nn.Linear applied per pixel: a 1x1 convolution with its [out, in] weight. */
  const linear = (name: string, x: string, out: string): string => {
    const [o, i] = stateDict.get(name)!.shape as [number, number];
    g.node('Conv', [x, param(name, [o, i, 1, 1])], [out], { kernel_shape: attr.ints([1, 1]) });
    return out;
  };
  const channelVector = (name: string): string => {
    if (!added.has(`${name}.c11`)) {
      const t = floatTensor(stateDict, name);
      g.initializer(`${name}.c11`, [t.shape[0]!, 1, 1], t.data);
      added.add(`${name}.c11`);
    }
    return `${name}.c11`;
  };
  const scalar = (v: number) => g.scalar(v);
  const gelu = (x: string, out: string) => exactGelu(g, scalar, x, out);
  /** Layer norm over the channels of each pixel (nn.LayerNorm on channels-last, or LayerNorm2d). */
  const layerNorm = (x: string, prefix: string, eps: number): string => {
    const o = `${prefix}.out`;
    g.node('ReduceMean', [x], [`${o}.mean`], { axes: attr.ints([1]), keepdims: attr.int(1) });
    g.node('Sub', [x, `${o}.mean`], [`${o}.centred`]);
    g.node('Mul', [`${o}.centred`, `${o}.centred`], [`${o}.squared`]);
    g.node('ReduceMean', [`${o}.squared`], [`${o}.var`], { axes: attr.ints([1]), keepdims: attr.int(1) });
    g.node('Add', [`${o}.var`, g.scalar(eps)], [`${o}.var_eps`]);
    g.node('Sqrt', [`${o}.var_eps`], [`${o}.std`]);
    g.node('Div', [`${o}.centred`, `${o}.std`], [`${o}.normalised`]);
    g.node('Mul', [channelVector(`${prefix}.weight`), `${o}.normalised`], [`${o}.scaled`]);
    g.node('Add', [`${o}.scaled`, channelVector(`${prefix}.bias`)], [o]);
    return o;
  };
  const l2normalize = (x: string, out: string) => l2Normalize(g, scalar, x, out);
  const transpose = (x: string, perm: number[], out: string) => {
    g.node('Transpose', [x], [out], { perm: attr.ints(perm) });
    return out;
  };
  const reshape = (x: string, shape: string, out: string) => {
    g.node('Reshape', [x, shape], [out]);
    return out;
  };
  const split3 = (x: string, prefix: string): [string, string, string] => {
    const outs: [string, string, string] = [`${prefix}.q`, `${prefix}.k`, `${prefix}.v`];
    g.node('Split', [x, g.int64([1, 1, 1])], outs, { axis: attr.int(0) });
    return outs;
  };

  // Input: zero-pad right/bottom to a multiple of the window, pads from the shape at run time.
  g.input('input', 'float32', ['N', h.numInCh, 'H', 'W']);
  g.node('Shape', ['input'], ['input.shape']);
  g.node('Slice', ['input.shape', g.int64([2]), g.int64([4])], ['input.hw']);
  g.node('Mod', ['input.hw', g.int64([w])], ['input.hw_mod']);
  g.node('Sub', [g.int64([w]), 'input.hw_mod'], ['input.hw_short']);
  g.node('Mod', ['input.hw_short', g.int64([w])], ['input.hw_pad']);
  g.node('Concat', [g.int64([0, 0, 0, 0, 0, 0]), 'input.hw_pad'], ['input.pads'], { axis: attr.int(0) });
  g.node('Pad', ['input', 'input.pads'], ['padded'], { mode: attr.string('constant') });
  // X = Hp / w, Y = Wp / w: windows down and across (and the grid's strides).
  g.node('Add', ['input.hw', 'input.hw_pad'], ['padded.hw']);
  g.node('Div', ['padded.hw', g.int64([w])], ['padded.xy']);
  g.node('Slice', ['padded.xy', g.int64([0]), g.int64([1])], ['X']);
  g.node('Slice', ['padded.xy', g.int64([1]), g.int64([2])], ['Y']);
  g.node('Mul', ['X', 'Y'], ['XY']);
  const featShape = g.shape([-1, C, 'padded.hw'], 'feat.shape');
  // Window (block): pixel (x w + i, y w + j); grid: pixel (i X + x, j Y + y).
  const qkvAttnShape = { block: g.shape([0, 3, HEADS, dh, 'X', w, 'Y', w], 'attn.block.split'), grid: g.shape([0, 3, HEADS, dh, w, 'X', w, 'Y'], 'attn.grid.split') };
  const attnBack = g.shape([-1, 'X', 'Y', HEADS, w, w, dh], 'attn.back');
  const tokens = g.int64([3, -1, HEADS, w * w, dh]);
  const caBlockSplit = g.shape([0, 3, HEADS, dh, 'X', w, 'Y', w], 'ca.split');
  const caBlockTokens = g.int64([3, -1, HEADS, dh, w * w]);
  const caGridTokens = g.shape([3, -1, HEADS, dh, 'XY'], 'ca.grid.tokens');
  const caBlockBack = g.shape([-1, 'X', 'Y', HEADS, dh, w, w], 'ca.block.back');
  const caGridBack = g.shape([-1, w, w, HEADS, dh, 'X', 'Y'], 'ca.grid.back');

  // Relative position bias, gathered here: [heads, w^2, w^2] with [h][n][m] = table[index(n, m)][h].
  const relBias = (prefix: string): string => {
    const name = `${prefix}.fn.rel_pos_bias.gathered`;
    const table = floatTensor(stateDict, `${prefix}.fn.rel_pos_bias.weight`).data;
    const n = w * w;
    const out = new Float32Array(HEADS * n * n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const dr = Math.floor(a / w) - Math.floor(b / w) + w - 1;
        const dc = (a % w) - (b % w) + w - 1;
        const index = dr * (2 * w - 1) + dc;
        for (let hd = 0; hd < HEADS; hd++) out[hd * n * n + a * n + b] = table[index * HEADS + hd]!;
      }
    }
    g.initializer(name, [HEADS, n, n], out);
    return name;
  };

  /** PreNormResidual(LayerNorm, Attention) over windows (`grid` false) or grids. */
  const attention = (x: string, prefix: string, grid: boolean): string => {
    const y = layerNorm(x, `${prefix}.norm`, LAYER_NORM_EPS);
    const qkv = linear(`${prefix}.fn.to_qkv.weight`, y, `${prefix}.qkv`);
    const kind = grid ? 'grid' : 'block';
    reshape(qkv, qkvAttnShape[kind], `${prefix}.qkv.split`);
    // -> [3, N, X, Y, heads, w1, w2, dh]
    transpose(`${prefix}.qkv.split`, grid ? [1, 0, 5, 7, 2, 4, 6, 3] : [1, 0, 4, 6, 2, 5, 7, 3], `${prefix}.qkv.windows`);
    reshape(`${prefix}.qkv.windows`, tokens, `${prefix}.qkv.tokens`);
    const [q, k, v] = split3(`${prefix}.qkv.tokens`, prefix);
    g.node('Mul', [q, g.scalar(dh ** -0.5)], [`${prefix}.q_scaled`]);
    transpose(k, [0, 1, 2, 4, 3], `${prefix}.kt`);
    g.node('MatMul', [`${prefix}.q_scaled`, `${prefix}.kt`], [`${prefix}.sim`]);
    let sim = `${prefix}.sim`;
    if (h.pe) {
      g.node('Add', [sim, relBias(prefix)], [`${prefix}.sim_biased`]);
      sim = `${prefix}.sim_biased`;
    }
    g.node('Softmax', [sim], [`${prefix}.attn`], { axis: attr.int(-1) });
    g.node('MatMul', [`${prefix}.attn`, v], [`${prefix}.heads`]);
    reshape(`${prefix}.heads`, attnBack, `${prefix}.heads.windows`);
    // [N, X, Y, heads, w1, w2, dh] -> [N, heads, dh, (X w1 | w1 X), (Y w2 | w2 Y)]
    transpose(`${prefix}.heads.windows`, grid ? [0, 3, 6, 4, 1, 5, 2] : [0, 3, 6, 1, 4, 2, 5], `${prefix}.heads.image`);
    reshape(`${prefix}.heads.image`, featShape, `${prefix}.merged`);
    linear(`${prefix}.fn.to_out.0.weight`, `${prefix}.merged`, `${prefix}.fn`);
    g.node('Add', [`${prefix}.fn`, x], [prefix]);
    return prefix;
  };

  /** Conv_PreNormResidual(LayerNorm2d, Gated_Conv_FeedForward). */
  const feedForward = (x: string, prefix: string): string => {
    const y = layerNorm(x, `${prefix}.norm`, LAYER_NORM_2D_EPS);
    conv(`${prefix}.fn.project_in`, y, `${prefix}.in`);
    conv(`${prefix}.fn.dwconv`, `${prefix}.in`, `${prefix}.dw`, { group: 2 * C });
    g.node('Split', [`${prefix}.dw`, g.int64([C, C])], [`${prefix}.a`, `${prefix}.b`], { axis: attr.int(1) });
    gelu(`${prefix}.a`, `${prefix}.gelu`);
    g.node('Mul', [`${prefix}.gelu`, `${prefix}.b`], [`${prefix}.gated`]);
    conv(`${prefix}.fn.project_out`, `${prefix}.gated`, `${prefix}.fn`);
    g.node('Add', [`${prefix}.fn`, x], [prefix]);
    return prefix;
  };

  /** Conv_PreNormResidual(LayerNorm2d, channel attention) per window or over each strided grid. */
  const channelAttention = (x: string, prefix: string, grid: boolean): string => {
    const y = layerNorm(x, `${prefix}.norm`, LAYER_NORM_2D_EPS);
    conv(`${prefix}.fn.qkv`, y, `${prefix}.qkv1`);
    conv(`${prefix}.fn.qkv_dwconv`, `${prefix}.qkv1`, `${prefix}.qkv`, { group: 3 * C });
    reshape(`${prefix}.qkv`, caBlockSplit, `${prefix}.qkv.split`); // [N, 3, heads, dh, X, w, Y, w]
    // block: [3, N, X, Y, heads, dh, w, w]; grid: [3, N, w, w, heads, dh, X, Y]
    transpose(`${prefix}.qkv.split`, grid ? [1, 0, 5, 7, 2, 3, 4, 6] : [1, 0, 4, 6, 2, 3, 5, 7], `${prefix}.qkv.groups`);
    reshape(`${prefix}.qkv.groups`, grid ? caGridTokens : caBlockTokens, `${prefix}.qkv.tokens`);
    const [q, k, v] = split3(`${prefix}.qkv.tokens`, prefix);
    l2normalize(q, `${prefix}.qn`);
    l2normalize(k, `${prefix}.kn`);
    transpose(`${prefix}.kn`, [0, 1, 2, 4, 3], `${prefix}.knt`);
    g.node('MatMul', [`${prefix}.qn`, `${prefix}.knt`], [`${prefix}.sim`]);
    param(`${prefix}.fn.temperature`);
    g.node('Mul', [`${prefix}.sim`, `${prefix}.fn.temperature`], [`${prefix}.sim_t`]);
    g.node('Softmax', [`${prefix}.sim_t`], [`${prefix}.attn`], { axis: attr.int(-1) });
    g.node('MatMul', [`${prefix}.attn`, v], [`${prefix}.heads`]);
    reshape(`${prefix}.heads`, grid ? caGridBack : caBlockBack, `${prefix}.heads.groups`);
    // -> [N, heads, dh, X, w, Y, w]
    transpose(`${prefix}.heads.groups`, grid ? [0, 3, 4, 5, 1, 6, 2] : [0, 3, 4, 1, 5, 2, 6], `${prefix}.heads.image`);
    reshape(`${prefix}.heads.image`, featShape, `${prefix}.merged`);
    conv(`${prefix}.fn.project_out`, `${prefix}.merged`, `${prefix}.fn`);
    g.node('Add', [`${prefix}.fn`, x], [prefix]);
    return prefix;
  };

  const mbconv = (x: string, prefix: string): string => {
    conv(`${prefix}.fn.0`, x, `${prefix}.expand`);
    gelu(`${prefix}.expand`, `${prefix}.act1`);
    conv(`${prefix}.fn.2`, `${prefix}.act1`, `${prefix}.dw`, { group: C });
    gelu(`${prefix}.dw`, `${prefix}.act2`);
    // Squeeze-excitation: mean over the image, Linear, SiLU, Linear, Sigmoid, scale.
    g.node('ReduceMean', [`${prefix}.act2`], [`${prefix}.se.mean`], { axes: attr.ints([2, 3]), keepdims: attr.int(1) });
    linear(`${prefix}.fn.4.gate.1.weight`, `${prefix}.se.mean`, `${prefix}.se.fc1`);
    g.node('Sigmoid', [`${prefix}.se.fc1`], [`${prefix}.se.sig1`]);
    g.node('Mul', [`${prefix}.se.fc1`, `${prefix}.se.sig1`], [`${prefix}.se.silu`]);
    linear(`${prefix}.fn.4.gate.3.weight`, `${prefix}.se.silu`, `${prefix}.se.fc2`);
    g.node('Sigmoid', [`${prefix}.se.fc2`], [`${prefix}.se.gate`]);
    g.node('Mul', [`${prefix}.act2`, `${prefix}.se.gate`], [`${prefix}.se`]);
    conv(`${prefix}.fn.5`, `${prefix}.se`, `${prefix}.fn`);
    g.node('Add', [`${prefix}.fn`, x], [prefix]);
    return prefix;
  };

  const esa = (x: string, prefix: string): string => {
    const c1 = conv(`${prefix}.conv1`, x, `${prefix}.c1_`);
    conv(`${prefix}.conv2`, c1, `${prefix}.c1`, { stride: 2, pad: 0 });
    g.node('MaxPool', [`${prefix}.c1`], [`${prefix}.vmax`], { kernel_shape: attr.ints([7, 7]), strides: attr.ints([3, 3]) });
    conv(`${prefix}.conv3`, `${prefix}.vmax`, `${prefix}.c3small`);
    g.node('Shape', [`${prefix}.c3small`], [`${prefix}.c3small.shape`]);
    g.node('Slice', [`${prefix}.c3small.shape`, g.int64([0]), g.int64([2])], [`${prefix}.nc`]);
    g.node('Concat', [`${prefix}.nc`, 'padded.hw'], [`${prefix}.sizes`], { axis: attr.int(0) });
    // F.interpolate(bilinear, align_corners False) to the features' size.
    g.node('Resize', [`${prefix}.c3small`, '', '', `${prefix}.sizes`], [`${prefix}.c3`], {
      mode: attr.string('linear'),
      coordinate_transformation_mode: attr.string('pytorch_half_pixel'),
    });
    conv(`${prefix}.conv_f`, c1, `${prefix}.cf`);
    g.node('Add', [`${prefix}.c3`, `${prefix}.cf`], [`${prefix}.sum`]);
    conv(`${prefix}.conv4`, `${prefix}.sum`, `${prefix}.c4`);
    g.node('Sigmoid', [`${prefix}.c4`], [`${prefix}.m`]);
    g.node('Mul', [x, `${prefix}.m`], [prefix]);
    return prefix;
  };

  const residual = conv('input', 'padded', 'features');
  let x = residual;
  for (let gi = 0; gi < h.resNum; gi++) {
    const gp = `residual_layer.${gi}`;
    const groupInput = x;
    for (let b = 0; b < h.blockNum; b++) {
      const p = `${gp}.residual_layer.${b}.layer`;
      x = mbconv(x, `${p}.0`);
      x = attention(x, `${p}.2`, false);
      x = feedForward(x, `${p}.4`);
      x = channelAttention(x, `${p}.5`, false);
      x = feedForward(x, `${p}.6`);
      x = attention(x, `${p}.8`, true);
      x = feedForward(x, `${p}.10`);
      x = channelAttention(x, `${p}.11`, true);
      x = feedForward(x, `${p}.12`);
    }
    conv(`${gp}.residual_layer.${h.blockNum}`, x, `${gp}.tail`);
    g.node('Add', [`${gp}.tail`, groupInput], [`${gp}.sum`]);
    x = esa(`${gp}.sum`, `${gp}.esa`);
  }
  conv('output', x, 'output.conv');
  g.node('Add', ['output.conv', residual], ['trunk']);
  conv('up.0', 'trunk', 'up.conv');
  g.node('DepthToSpace', ['up.conv'], ['up.shuffled'], { blocksize: attr.int(h.scale), mode: attr.string('CRD') });
  g.node('Mul', ['input.hw', g.int64([h.scale])], ['output.hw']);
  g.node('Slice', ['up.shuffled', g.int64([0, 0]), 'output.hw', g.int64([2, 3])], ['output']);
  g.output('output', 'float32', ['N', h.numOutCh, 'H_out', 'W_out']);

  const geometry = omniSrGeometry(h);
  return g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `${OMNISR_ARCHITECTURE} x${h.scale} (${h.resNum} groups of ${h.blockNum} blocks, ${h.numFeat} features, window ${w}), converted from a PyTorch state dict by superres`,
    metadata: {
      architecture: OMNISR_ARCHITECTURE,
      hyperparameters: JSON.stringify(h),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
}

// ---- registry module -------------------------------------------------------------------------

export const omnisrArchitecture: Architecture<OmniSrHyperparameters> = {
  name: OMNISR_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^input\.(weight|bias)$/,
    /^residual_layer\.\d+\.residual_layer\.\d+\.layer\.\d+\./,
    /^residual_layer\.\d+\.esa\.conv[1234f_]+\.(weight|bias)$/,
    /^output\.(weight|bias)$/,
    /^up\.0\.(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectOmniSr(stateDict, overrides),
  geometry: omniSrGeometry,
  macsPerOutputPixel: omniSrMacsPerOutputPixel,
  build: (stateDict, hyper) => buildOmniSrOnnx(stateDict, hyper),
};
