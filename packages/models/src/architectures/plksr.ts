/**
 * PLKSR and RealPLKSR ("Partial Large Kernel CNNs for Efficient Super-Resolution", arXiv
 * 2404.11848; the authors' dslisleedh/PLKSR `plksr/archs/plksr_arch.py`, and RealPLKSR from neosr
 * as spandrel defines and detects it): hyperparameters read from a state dict, geometry, cost,
 * and the ONNX graph. tools/reference/plksr_arch.py is the PyTorch reference.
 *
 * Both: `feats` = conv3x3(3 -> dim), n blocks, conv3x3(dim -> 3 s^2) (RealPLKSR: a Dropout2d
 * before the last conv, identity at inference, so its index holds no tensor);
 * out = pixel_shuffle(feats(x) + repeat_interleave(x, s^2), s), which is
 * pixel_shuffle(feats(x)) + nearest_upsample(x, s).
 * PLKSR block: channe_mixer (upstream's spelling; CCM 3x3/1x1, ICCM 1x1/3x3 or DCCM 3x3/3x3
 * convs around a GELU) -> partial large kernel (the first pdim channels replaced by a k x k conv
 * of them, `lk.conv`; or the sum of (k, k/3), (k/3, k), (k/3, k/3) convs, `lk.mn_conv` ...:
 * RectSparsePLK) -> element-wise attention y * sigmoid(conv3x3(y)) (`attn.f.0`, optional) ->
 * refine (conv1x1) -> + the block's input.
 * RealPLKSR block: optional per-pixel layer norm over channels (`layer_norm`, eps 1e-6) ->
 * channel_mixer (3x3, Mish, 3x3) -> partial large kernel -> attention (optional) -> refine ->
 * GroupNorm (`norm`, eps 1e-5; only without layer norm) -> + the block's input.
 */
import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import type { Architecture, ArchitectureGeometry, ArchitectureOverrides } from './architecture.js';
import { exactGelu } from './graph-ops.js';
import { referenceAlignment } from './srvgg.js';
import { floatTensor, fmt, listNames, tensorProblem } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const PLKSR_ARCHITECTURE = 'PLKSR';
export const REAL_PLKSR_ARCHITECTURE = 'RealPLKSR';
/** nn.GroupNorm's groups in RealPLKSR unless the checkpoint was trained with others (not stored). */
export const REAL_PLKSR_DEFAULT_NORM_GROUPS = 4;
const LAYER_NORM_EPS = 1e-6;
const GROUP_NORM_EPS = 1e-5;

/** Channel mixer: kernel sizes of its two convolutions. */
export type PlksrChannelMixer = 'CCM' | 'ICCM' | 'DCCM';
export type PlksrLargeKernel = 'PLK' | 'RectSparsePLK';
const MIXER_KERNELS: Record<PlksrChannelMixer, readonly [number, number]> = { CCM: [3, 1], ICCM: [1, 3], DCCM: [3, 3] };

interface CommonHyperparameters {
  readonly dim: number;
  readonly nBlocks: number;
  readonly scale: number;
  /** The large kernel's size (RectSparsePLK: its long side). */
  readonly kernelSize: number;
  /** Channels the large kernel convolves: int(dim * split_ratio). */
  readonly pdim: number;
  /** pdim / dim, as spandrel reports it. */
  readonly splitRatio: number;
  /** Element-wise attention in every block. */
  readonly useEa: boolean;
}

export interface PlksrHyperparameters extends CommonHyperparameters {
  readonly ccmType: PlksrChannelMixer;
  readonly lkType: PlksrLargeKernel;
}

export interface RealPlksrHyperparameters extends CommonHyperparameters {
  /** `layer`: a layer norm opens each block; `group`: a GroupNorm closes it. */
  readonly norm: 'layer' | 'group';
  /** GroupNorm groups (`group` only): not in the tensors, REAL_PLKSR_DEFAULT_NORM_GROUPS unless told. */
  readonly normGroups?: number;
}

/** What a RealPLKSR state dict cannot say for itself. */
export interface PlksrOverrides {
  /** RealPLKSR GroupNorm groups (neosr's norm_groups); 4 by default, as every known release. */
  normGroups?: number;
}

type Variant = typeof PLKSR_ARCHITECTURE | typeof REAL_PLKSR_ARCHITECTURE;

// ---- detection -------------------------------------------------------------------------------

const PLKSR_BLOCK = /^feats\.(\d+)\.(channe_mixer\.[02]|lk\.(?:conv|mn_conv|nm_conv|nn_conv)|attn\.f\.0|refine)\.(weight|bias)$/;
const REAL_BLOCK = /^feats\.(\d+)\.(layer_norm|channel_mixer\.[02]|lk\.conv|attn\.f\.0|refine|norm)\.(weight|bias)$/;
const FEATS_CONV = /^feats\.(\d+)\.(weight|bias)$/;

/** Which of the two the names say, or undefined (spandrel's rule: feats.0, lk, refine, the mixer's spelling). */
function variantOf(stateDict: StateDict): Variant | undefined {
  if (!stateDict.has('feats.0.weight') || !stateDict.has('feats.1.refine.weight')) return undefined;
  const lk = ['feats.1.lk.conv.weight', 'feats.1.lk.convs.0.weight', 'feats.1.lk.mn_conv.weight'].some((k) => stateDict.has(k));
  if (!lk) return undefined;
  if (stateDict.has('feats.1.channe_mixer.0.weight')) return PLKSR_ARCHITECTURE;
  if (stateDict.has('feats.1.channel_mixer.0.weight')) return REAL_PLKSR_ARCHITECTURE;
  return undefined;
}

/** Variants whose graph superres does not build: said by name rather than as "unknown architecture". */
function refuseUnsupported(stateDict: StateDict, variant: Variant): void {
  const keys = [...stateDict.keys()];
  const toImg = keys.filter((k) => k.startsWith('to_img.'));
  if (toImg.length > 0) {
    throw new UnsupportedArchitectureError(
      `${variant} with DySample upsampling (tensors ${listNames(toImg)}) is not supported: DySample samples the features at ` +
        'positions the network computes, so no tile pad makes tiles exact; only the pixel-shuffle upsampler is converted',
      { details: { architecture: variant, upsampler: 'DySample', tensors: toImg } },
    );
  }
  const sparse = keys.filter((k) => /^feats\.\d+\.lk\.convs\./.test(k));
  if (sparse.length > 0) {
    throw new UnsupportedArchitectureError(
      `${variant} with the SparsePLK large kernel (tensors ${listNames(sparse)}) is not supported: its dilations are not ` +
        'stored in the checkpoint (an ablation of the paper, with no released weights)',
      { details: { architecture: variant, lkType: 'SparsePLK', tensors: sparse } },
    );
  }
}

function shapeOf(stateDict: StateDict, name: string, variant: Variant, expected: string): readonly number[] {
  const shape = stateDict.get(name)?.shape;
  if (!shape) throw new BadCheckpointError(`${variant}: missing tensor ${name} (expected shape ${expected})`);
  return shape;
}

function bad(variant: Variant, name: string, shape: readonly number[], expected: string): never {
  throw new BadCheckpointError(`${variant}: tensor ${name} has shape ${fmt(shape)}, expected ${expected}`, {
    details: { tensor: name, shape: [...shape] },
  });
}

const isConv = (shape: readonly number[], out: number, input: number) => shape.length === 4 && shape[0] === out && shape[1] === input;
const odd = (k: number | undefined): k is number => k !== undefined && k >= 1 && k % 2 === 1;

interface Read {
  common: CommonHyperparameters;
  /** The mixer's kernel sizes (RealPLKSR: 3, 3). */
  mixer: readonly [number, number];
  lkType: PlksrLargeKernel;
  lastIndex: number;
}

/** The hyperparameters the tensor shapes fix, for either variant; throws naming the first bad tensor. */
function readCommon(stateDict: StateDict, variant: Variant): Read {
  const first = shapeOf(stateDict, 'feats.0.weight', variant, '[dim, 3, 3, 3]');
  if (first.length !== 4 || first[1] !== 3 || first[2] !== 3 || first[3] !== 3 || first[0]! < 1) {
    bad(variant, 'feats.0.weight', first, '[dim, 3, 3, 3]');
  }
  const dim = first[0]!;
  const indices = [...stateDict.keys()].map((k) => /^feats\.(\d+)\./.exec(k)).filter((m) => m !== null).map((m) => Number(m[1]));
  const lastIndex = Math.max(...indices);
  const extra = variant === REAL_PLKSR_ARCHITECTURE ? 2 : 1; // RealPLKSR: the dropout's empty index
  const nBlocks = lastIndex - extra;
  if (nBlocks < 1) {
    throw new BadCheckpointError(`${variant}: the last feats index is ${lastIndex}: no block between the first and last convolutions`);
  }
  const lastName = `feats.${lastIndex}.weight`;
  const last = shapeOf(stateDict, lastName, variant, '[3 * scale^2, dim, 3, 3]');
  const scale = Math.round(Math.sqrt((last[0] ?? 0) / 3));
  if (!isConv(last, 3 * scale * scale, dim) || scale < 1 || last[2] !== 3 || last[3] !== 3) {
    bad(variant, lastName, last, `[3 * scale^2, ${dim}, 3, 3] (the last convolution, before the pixel shuffle)`);
  }

  const mixerPrefix = variant === PLKSR_ARCHITECTURE ? 'feats.1.channe_mixer' : 'feats.1.channel_mixer';
  const m0 = shapeOf(stateDict, `${mixerPrefix}.0.weight`, variant, `[${2 * dim}, ${dim}, k, k]`);
  const m2 = shapeOf(stateDict, `${mixerPrefix}.2.weight`, variant, `[${dim}, ${2 * dim}, k, k]`);
  const allowed = variant === PLKSR_ARCHITECTURE ? [1, 3] : [3];
  const kernelOk = (s: readonly number[]) => s[2] === s[3] && allowed.includes(s[2]!);
  const sizes = allowed.join(' or ');
  if (!isConv(m0, 2 * dim, dim) || !kernelOk(m0)) bad(variant, `${mixerPrefix}.0.weight`, m0, `[${2 * dim}, ${dim}, k, k] with k ${sizes}`);
  if (!isConv(m2, dim, 2 * dim) || !kernelOk(m2)) bad(variant, `${mixerPrefix}.2.weight`, m2, `[${dim}, ${2 * dim}, k, k] with k ${sizes}`);
  const mixer = [m0[2]!, m2[2]!] as const;
  if (mixer[0] === 1 && mixer[1] === 1) {
    throw new BadCheckpointError(
      `${variant}: tensors ${mixerPrefix}.0.weight and .2.weight are both 1x1: no channel mixer (CCM, ICCM, DCCM) has that`,
    );
  }

  let lkType: PlksrLargeKernel = 'PLK';
  let lkName = 'feats.1.lk.conv.weight';
  if (variant === PLKSR_ARCHITECTURE && !stateDict.has(lkName) && stateDict.has('feats.1.lk.mn_conv.weight')) {
    lkType = 'RectSparsePLK';
    lkName = 'feats.1.lk.mn_conv.weight';
  }
  const lk = shapeOf(stateDict, lkName, variant, '[pdim, pdim, k, k]');
  const pdim = lk[0]!;
  const kernelSize = lk[2]!;
  // RectSparsePLK's mn_conv is (k, k // 3); both sides odd, or 'same' padding would change the size.
  const widthOk = lkType === 'PLK' ? lk[3] === kernelSize : odd(lk[3]) && lk[3] === Math.floor(kernelSize / 3);
  if (lk.length !== 4 || pdim < 1 || pdim > dim || lk[1] !== pdim || !odd(kernelSize) || !widthOk) {
    const expected =
      lkType === 'PLK' ? `[pdim, pdim, k, k] with pdim <= ${dim} and k odd` : `[pdim, pdim, k, k / 3] with pdim <= ${dim} and k, k / 3 odd`;
    bad(variant, lkName, lk, expected);
  }
  return {
    common: { dim, nBlocks, scale, kernelSize, pdim, splitRatio: pdim / dim, useEa: stateDict.has('feats.1.attn.f.0.weight') },
    mixer,
    lkType,
    lastIndex,
  };
}

function largeKernelShapes(lkType: PlksrLargeKernel, pdim: number, k: number): Record<string, readonly number[]> {
  if (lkType === 'PLK') return { conv: [pdim, pdim, k, k] };
  const n = Math.floor(k / 3);
  return { mn_conv: [pdim, pdim, k, n], nm_conv: [pdim, pdim, n, k], nn_conv: [pdim, pdim, n, n] };
}

/** Every tensor the hyperparameters call for, with its shape. */
function expectedShapes(variant: Variant, read: Read, norm: 'layer' | 'group' | undefined): Map<string, readonly number[]> {
  const { dim, nBlocks, scale, kernelSize, pdim, useEa } = read.common;
  const shapes = new Map<string, readonly number[]>();
  const conv = (prefix: string, out: number, input: number, kh: number, kw = kh) => {
    shapes.set(`${prefix}.weight`, [out, input, kh, kw]);
    shapes.set(`${prefix}.bias`, [out]);
  };
  conv('feats.0', dim, 3, 3);
  const mixer = variant === PLKSR_ARCHITECTURE ? 'channe_mixer' : 'channel_mixer';
  for (let i = 1; i <= nBlocks; i++) {
    const p = `feats.${i}`;
    if (norm === 'layer') {
      shapes.set(`${p}.layer_norm.weight`, [dim]);
      shapes.set(`${p}.layer_norm.bias`, [dim]);
    }
    conv(`${p}.${mixer}.0`, 2 * dim, dim, read.mixer[0]);
    conv(`${p}.${mixer}.2`, dim, 2 * dim, read.mixer[1]);
    for (const [name, [out, input, kh, kw]] of Object.entries(largeKernelShapes(read.lkType, pdim, kernelSize))) {
      conv(`${p}.lk.${name}`, out!, input!, kh!, kw!);
    }
    if (useEa) conv(`${p}.attn.f.0`, dim, dim, 3);
    conv(`${p}.refine`, dim, dim, 1);
    if (norm === 'group') {
      shapes.set(`${p}.norm.weight`, [dim]);
      shapes.set(`${p}.norm.bias`, [dim]);
    }
  }
  conv(`feats.${read.lastIndex}`, 3 * scale * scale, dim, 3);
  return shapes;
}

function checkTensors(variant: Variant, stateDict: StateDict, expected: Map<string, readonly number[]>): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  const unexpected = [...stateDict.keys()].filter((k) => !expected.has(k));
  if (unexpected.length > 0) problems.push(`unexpected tensors ${listNames(unexpected)}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${variant}: ${shown}`, { details: { problems } });
  }
}

/** Options meant for other architectures, and an upscale that contradicts the tensors. */
function checkOverrides(variant: Variant, overrides: ArchitectureOverrides, scale: number): void {
  if (overrides.activation !== undefined) {
    throw new InvalidOptionError(
      `Option activation does not apply to ${variant}: its activations are fixed (${variant === PLKSR_ARCHITECTURE ? 'GELU' : 'Mish'})`,
      { details: { option: 'activation' } },
    );
  }
  if (overrides.upscale !== undefined && overrides.upscale !== scale) {
    throw new InvalidOptionError(
      `Option upscale is ${overrides.upscale}, but this ${variant} checkpoint's last convolution gives x${scale}`,
      { details: { option: 'upscale' } },
    );
  }
  if (overrides.numOutCh !== undefined && overrides.numOutCh !== 3) {
    throw new InvalidOptionError(`Option numOutCh is ${overrides.numOutCh}, but ${variant} always outputs 3 channels`, {
      details: { option: 'numOutCh' },
    });
  }
}

function normGroupsOf(overrides: ArchitectureOverrides, dim: number, norm: 'layer' | 'group'): number | undefined {
  const given = overrides.normGroups;
  if (given !== undefined && (typeof given !== 'number' || !Number.isInteger(given) || given < 1)) {
    throw new InvalidOptionError(`Option normGroups must be a positive integer, got ${JSON.stringify(given)}`, {
      details: { option: 'normGroups' },
    });
  }
  if (norm === 'layer') {
    if (given !== undefined) {
      throw new InvalidOptionError(
        `Option normGroups applies to ${REAL_PLKSR_ARCHITECTURE} with GroupNorm; this checkpoint uses layer norm (feats.1.layer_norm.weight)`,
        { details: { option: 'normGroups' } },
      );
    }
    return undefined;
  }
  const groups = given ?? REAL_PLKSR_DEFAULT_NORM_GROUPS;
  if (dim % groups !== 0) {
    const message = `${REAL_PLKSR_ARCHITECTURE}: GroupNorm with ${groups} groups needs dim (${dim}) to be a multiple of it`;
    const details = { details: { option: 'normGroups' } };
    if (given !== undefined) throw new InvalidOptionError(`Option normGroups: ${message}`, details);
    throw new UnsupportedArchitectureError(`${message}; the groups are not stored in the checkpoint: pass the normGroups option`, details);
  }
  return groups;
}

/** PLKSR hyperparameters when the names say PLKSR, undefined otherwise; throws on bad shapes. */
export function detectPlksr(stateDict: StateDict, overrides: ArchitectureOverrides = {}): PlksrHyperparameters | undefined {
  if (variantOf(stateDict) !== PLKSR_ARCHITECTURE) return undefined;
  return plksrHyperparameters(stateDict, overrides);
}

export function plksrHyperparameters(stateDict: StateDict, overrides: ArchitectureOverrides = {}): PlksrHyperparameters {
  const variant = PLKSR_ARCHITECTURE;
  refuseUnsupported(stateDict, variant);
  foreign(stateDict, variant, (k) => PLKSR_BLOCK.test(k) || FEATS_CONV.test(k));
  const read = readCommon(stateDict, variant);
  checkTensors(variant, stateDict, expectedShapes(variant, read, undefined));
  if (overrides.normGroups !== undefined) {
    throw new InvalidOptionError(`Option normGroups applies to ${REAL_PLKSR_ARCHITECTURE} only; ${PLKSR_ARCHITECTURE} has no GroupNorm`, {
      details: { option: 'normGroups' },
    });
  }
  checkOverrides(variant, overrides, read.common.scale);
  const [k0, k1] = read.mixer;
  const ccmType = (Object.keys(MIXER_KERNELS) as PlksrChannelMixer[]).find((t) => MIXER_KERNELS[t][0] === k0 && MIXER_KERNELS[t][1] === k1)!;
  return { ...read.common, ccmType, lkType: read.lkType };
}

/** RealPLKSR hyperparameters when the names say RealPLKSR, undefined otherwise; throws on bad shapes. */
export function detectRealPlksr(stateDict: StateDict, overrides: ArchitectureOverrides = {}): RealPlksrHyperparameters | undefined {
  if (variantOf(stateDict) !== REAL_PLKSR_ARCHITECTURE) return undefined;
  return realPlksrHyperparameters(stateDict, overrides);
}

export function realPlksrHyperparameters(stateDict: StateDict, overrides: ArchitectureOverrides = {}): RealPlksrHyperparameters {
  const variant = REAL_PLKSR_ARCHITECTURE;
  refuseUnsupported(stateDict, variant);
  foreign(stateDict, variant, (k) => REAL_BLOCK.test(k) || FEATS_CONV.test(k));
  const read = readCommon(stateDict, variant);
  const norm = stateDict.has('feats.1.layer_norm.weight') ? 'layer' : 'group';
  checkTensors(variant, stateDict, expectedShapes(variant, read, norm));
  checkOverrides(variant, overrides, read.common.scale);
  const normGroups = normGroupsOf(overrides, read.common.dim, norm);
  return { ...read.common, norm, ...(normGroups === undefined ? {} : { normGroups }) };
}

/** Tensors outside this architecture's names: another network that shares its first names. */
function foreign(stateDict: StateDict, variant: Variant, known: (key: string) => boolean): void {
  const unexpected = [...stateDict.keys()].filter((k) => !known(k));
  if (unexpected.length > 0) {
    throw new UnsupportedArchitectureError(
      `Not a ${variant} state dict as superres knows it: unexpected tensors ${listNames(unexpected)}`,
      { details: { architecture: variant, unexpected } },
    );
  }
}

// ---- geometry and cost -----------------------------------------------------------------------

function mixerKernels(h: PlksrHyperparameters | RealPlksrHyperparameters): readonly [number, number] {
  return 'ccmType' in h ? MIXER_KERNELS[h.ccmType] : MIXER_KERNELS.DCCM;
}

/**
 * Input pixels each side one output pixel reads: the half-widths of the convolutions on the path
 * added up (feats.0 and the last conv 1 each; per block the mixer's 3x3s, the large kernel's
 * kernel_size // 2 (RectSparsePLK: its long side), the attention's 3x3; 1x1s add nothing). The
 * pixel shuffle maps output pixel s h + i to feature pixel h. Exact for PLKSR and layer-norm
 * RealPLKSR (the PyTorch fixtures check that one pixel less of tile pad changes the result).
 * GroupNorm RealPLKSR normalises each block over the whole tile: no pad makes its tiles equal
 * the whole image (nor do they in PyTorch); this is then the radius of its convolutions.
 */
export function plksrGeometry(h: PlksrHyperparameters | RealPlksrHyperparameters): ArchitectureGeometry {
  const [k0, k1] = mixerKernels(h);
  const perBlock = Math.floor(k0 / 2) + Math.floor(k1 / 2) + Math.floor(h.kernelSize / 2) + (h.useEa ? 1 : 0);
  return {
    scale: h.scale,
    alignment: referenceAlignment(h.scale),
    receptiveRadius: 2 + h.nBlocks * perBlock,
    workingBytesPerPixel: workingBytesPerPixel({
      // The channel mixer's hidden features, or the last conv's output before the pixel shuffle.
      widestChannels: Math.max(2 * h.dim, 3 * h.scale ** 2),
      inChannels: 3,
      outChannels: 3,
      scale: h.scale,
    }),
  };
}

/** Convolution multiply-accumulates per output pixel (norms, activations and the skip left out). */
export function plksrMacsPerOutputPixel(h: PlksrHyperparameters | RealPlksrHyperparameters): number {
  const [k0, k1] = mixerKernels(h);
  const { dim, pdim, kernelSize: k } = h;
  const lkArea = 'lkType' in h && h.lkType === 'RectSparsePLK' ? 2 * k * Math.floor(k / 3) + Math.floor(k / 3) ** 2 : k * k;
  const block = k0 * k0 * dim * 2 * dim + k1 * k1 * 2 * dim * dim + lkArea * pdim * pdim + (h.useEa ? 9 * dim * dim : 0) + dim * dim;
  const perInputPixel = 9 * 3 * dim + h.nBlocks * block + 9 * dim * 3 * h.scale ** 2;
  return perInputPixel / h.scale ** 2;
}

// ---- ONNX graph ------------------------------------------------------------------------------

class PlksrGraph {
  readonly g: OnnxGraphBuilder;
  private scalars = new Map<number, string>();

  constructor(
    name: string,
    private readonly stateDict: StateDict,
  ) {
    this.g = new OnnxGraphBuilder(name);
  }

  /** A float scalar initializer, shared. */
  scalar(value: number): string {
    let name = this.scalars.get(value);
    if (!name) {
      name = `const.${this.scalars.size}`;
      this.g.initializer(name, [], new Float32Array([value]));
      this.scalars.set(value, name);
    }
    return name;
  }

  /** Conv with the checkpoint's `<prefix>.weight` / `.bias`, stride 1, 'same' zero padding. */
  conv(prefix: string, x: string, out = prefix): string {
    for (const param of ['weight', 'bias']) {
      const t = floatTensor(this.stateDict, `${prefix}.${param}`);
      this.g.initializer(`${prefix}.${param}`, t.shape, t.data);
    }
    const [, , kh, kw] = this.stateDict.get(`${prefix}.weight`)!.shape as [number, number, number, number];
    const ph = Math.floor(kh / 2);
    const pw = Math.floor(kw / 2);
    this.g.node('Conv', [x, `${prefix}.weight`, `${prefix}.bias`], [out], {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([ph, pw, ph, pw]),
      strides: attr.ints([1, 1]),
      dilations: attr.ints([1, 1]),
      group: attr.int(1),
    });
    return out;
  }

  /** A per-channel vector of the checkpoint as [C, 1, 1], to broadcast over NCHW. */
  channelVector(name: string): string {
    const t = floatTensor(this.stateDict, name);
    this.g.initializer(name, [t.shape[0]!, 1, 1], t.data);
    return name;
  }

  /** torch GELU (exact): x * 0.5 * (1 + erf(x / sqrt(2))). Opset 17 has no Gelu. */
  gelu(x: string, out: string): string {
    return exactGelu(this.g, (v) => this.scalar(v), x, out);
  }

  /** torch Mish: x * tanh(softplus(x)). Opset 17 has no Mish. */
  mish(x: string, out: string): string {
    this.g.node('Softplus', [x], [`${out}.softplus`]);
    this.g.node('Tanh', [`${out}.softplus`], [`${out}.tanh`]);
    this.g.node('Mul', [x, `${out}.tanh`], [out]);
    return out;
  }

  /** (x - mean) / sqrt(biased variance + eps) over `axis` of x, in PyTorch's order. */
  normalise(x: string, axis: number, eps: number, out: string): string {
    const g = this.g;
    g.node('ReduceMean', [x], [`${out}.mean`], { axes: attr.ints([axis]), keepdims: attr.int(1) });
    g.node('Sub', [x, `${out}.mean`], [`${out}.centred`]);
    g.node('Mul', [`${out}.centred`, `${out}.centred`], [`${out}.squared`]);
    g.node('ReduceMean', [`${out}.squared`], [`${out}.var`], { axes: attr.ints([axis]), keepdims: attr.int(1) });
    g.node('Add', [`${out}.var`, this.scalar(eps)], [`${out}.var_eps`]);
    g.node('Sqrt', [`${out}.var_eps`], [`${out}.std`]);
    g.node('Div', [`${out}.centred`, `${out}.std`], [out]);
    return out;
  }

  /** weight[c] * x + bias[c]. */
  affine(x: string, prefix: string, out: string): string {
    this.g.node('Mul', [this.channelVector(`${prefix}.weight`), x], [`${out}.scaled`]);
    this.g.node('Add', [`${out}.scaled`, this.channelVector(`${prefix}.bias`)], [out]);
    return out;
  }

  /** RealPLKSR's layer norm: over the channels of each pixel. */
  layerNorm(x: string, prefix: string): string {
    return this.affine(this.normalise(x, 1, LAYER_NORM_EPS, `${prefix}.normalised`), prefix, prefix);
  }

  /** nn.GroupNorm(groups, C): statistics over each group's channels and every pixel. */
  groupNorm(x: string, prefix: string, groups: number): string {
    const g = this.g;
    g.initializer(`${prefix}.group_shape`, [3], new BigInt64Array([0n, BigInt(groups), -1n]));
    g.node('Shape', [x], [`${prefix}.shape`]);
    g.node('Reshape', [x, `${prefix}.group_shape`], [`${prefix}.grouped`]);
    this.normalise(`${prefix}.grouped`, 2, GROUP_NORM_EPS, `${prefix}.normalised_grouped`);
    g.node('Reshape', [`${prefix}.normalised_grouped`, `${prefix}.shape`], [`${prefix}.normalised`]);
    return this.affine(`${prefix}.normalised`, prefix, prefix);
  }

  /** The first pdim channels replaced by the large kernel's convolution(s) of them. */
  partialLargeKernel(x: string, prefix: string, h: CommonHyperparameters, lkType: PlksrLargeKernel): string {
    const g = this.g;
    const split = h.pdim < h.dim;
    let head = x;
    if (split) {
      g.initializer(`${prefix}.split`, [2], new BigInt64Array([BigInt(h.pdim), BigInt(h.dim - h.pdim)]));
      g.node('Split', [x, `${prefix}.split`], [`${prefix}.head`, `${prefix}.tail`], { axis: attr.int(1) });
      head = `${prefix}.head`;
    }
    let conv: string;
    if (lkType === 'PLK') {
      conv = this.conv(`${prefix}.conv`, head);
    } else {
      // PyTorch's order: (mn + nm) + nn.
      const mn = this.conv(`${prefix}.mn_conv`, head);
      const nm = this.conv(`${prefix}.nm_conv`, head);
      const nn = this.conv(`${prefix}.nn_conv`, head);
      g.node('Add', [mn, nm], [`${prefix}.mn_nm`]);
      g.node('Add', [`${prefix}.mn_nm`, nn], [`${prefix}.sum`]);
      conv = `${prefix}.sum`;
    }
    if (!split) return conv;
    g.node('Concat', [conv, `${prefix}.tail`], [prefix], { axis: attr.int(1) });
    return prefix;
  }

  /** y * sigmoid(conv3x3(y)). */
  attention(x: string, prefix: string): string {
    const f = this.conv(`${prefix}.f.0`, x);
    this.g.node('Sigmoid', [f], [`${prefix}.gate`]);
    this.g.node('Mul', [x, `${prefix}.gate`], [prefix]);
    return prefix;
  }
}

/** The ONNX graph: input `input` [N, 3, H, W] (dynamic N, H, W), output `output` [N, 3, H s, W s]. */
export function buildPlksrOnnx(
  stateDict: StateDict,
  variant: Variant,
  h: PlksrHyperparameters | RealPlksrHyperparameters,
): Uint8Array {
  const geometry = plksrGeometry(h);
  const graph = new PlksrGraph(variant, stateDict);
  const { g } = graph;
  g.input('input', 'float32', ['N', 3, 'H', 'W']);
  let x = graph.conv('feats.0', 'input');
  const real = 'norm' in h;
  for (let i = 1; i <= h.nBlocks; i++) {
    const p = `feats.${i}`;
    const skip = x;
    let y = x;
    if (real && h.norm === 'layer') y = graph.layerNorm(y, `${p}.layer_norm`);
    const mixer = `${p}.${real ? 'channel_mixer' : 'channe_mixer'}`;
    y = graph.conv(`${mixer}.0`, y);
    y = real ? graph.mish(y, `${mixer}.1`) : graph.gelu(y, `${mixer}.1`);
    y = graph.conv(`${mixer}.2`, y);
    y = graph.partialLargeKernel(y, `${p}.lk`, h, 'lkType' in h ? h.lkType : 'PLK');
    if (h.useEa) y = graph.attention(y, `${p}.attn`);
    y = graph.conv(`${p}.refine`, y);
    if (real && h.norm === 'group') y = graph.groupNorm(y, `${p}.norm`, h.normGroups ?? REAL_PLKSR_DEFAULT_NORM_GROUPS);
    g.node('Add', [y, skip], [p]);
    x = p;
  }
  const lastIndex = h.nBlocks + (real ? 2 : 1);
  const last = graph.conv(`feats.${lastIndex}`, x);
  // pixel_shuffle(feats + repeat_interleave(x, s^2)) = DepthToSpace(feats) + nearest_upsample(x):
  // the same sums, value for value. DepthToSpace in CRD mode is torch's pixel_shuffle.
  g.node('DepthToSpace', [last], ['shuffled'], { blocksize: attr.int(h.scale), mode: attr.string('CRD') });
  g.initializer('base_scales', [4], new Float32Array([1, 1, h.scale, h.scale]));
  g.node('Resize', ['input', '', 'base_scales'], ['base'], {
    mode: attr.string('nearest'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    nearest_mode: attr.string('floor'),
  });
  g.node('Add', ['shuffled', 'base'], ['output']);
  g.output('output', 'float32', ['N', 3, 'H_out', 'W_out']);
  return g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `${variant} x${h.scale} (${h.nBlocks} blocks, dim ${h.dim}), converted from a PyTorch state dict by superres`,
    metadata: {
      architecture: variant,
      hyperparameters: JSON.stringify(h),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
}

// ---- registry modules ------------------------------------------------------------------------

/**
 * PLKSR and RealPLKSR share feats.0, lk and refine names but not the mixer's (`channe_mixer`,
 * upstream's spelling, vs `channel_mixer`): neither's names are a superset of the other's, so
 * neither needs `before`.
 */
export const plksrArchitecture: Architecture<PlksrHyperparameters> = {
  name: PLKSR_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^feats\.\d+\.(weight|bias)$/,
    /^feats\.\d+\.channe_mixer\.[02]\.(weight|bias)$/,
    /^feats\.\d+\.lk\.(conv|mn_conv|nm_conv|nn_conv|convs\.\d+)\.(weight|bias)$/,
    /^feats\.\d+\.attn\.f\.0\.(weight|bias)$/,
    /^feats\.\d+\.refine\.(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectPlksr(stateDict, overrides),
  geometry: plksrGeometry,
  macsPerOutputPixel: plksrMacsPerOutputPixel,
  build: (stateDict, hyper) => buildPlksrOnnx(stateDict, PLKSR_ARCHITECTURE, hyper),
};

export const realPlksrArchitecture: Architecture<RealPlksrHyperparameters> = {
  name: REAL_PLKSR_ARCHITECTURE,
  kind: 'upscaler',
  signature: [
    /^feats\.\d+\.(weight|bias)$/,
    /^feats\.\d+\.channel_mixer\.[02]\.(weight|bias)$/,
    /^feats\.\d+\.lk\.conv\.(weight|bias)$/,
    /^feats\.\d+\.attn\.f\.0\.(weight|bias)$/,
    /^feats\.\d+\.refine\.(weight|bias)$/,
    /^feats\.\d+\.(norm|layer_norm)\.(weight|bias)$/,
  ],
  detect: (stateDict, overrides) => detectRealPlksr(stateDict, overrides),
  geometry: plksrGeometry,
  macsPerOutputPixel: plksrMacsPerOutputPixel,
  build: (stateDict, hyper) => buildPlksrOnnx(stateDict, REAL_PLKSR_ARCHITECTURE, hyper),
};
