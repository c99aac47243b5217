/**
 * RRDBNet (ESRGAN; BasicSR `basicsr/archs/rrdbnet_arch.py`, the Real-ESRGAN x4plus/x2plus/anime
 * models): hyperparameters read from a state dict in any of its key layouts (rrdbnet-keys.ts),
 * its tiling geometry, and the equivalent ONNX graph.
 *
 * forward(x): feat = conv_first(pixel_unshuffle(x, r)) (r = 1 for x4, 2 for x2, 4 for x1);
 * feat = feat + conv_body(RRDB x num_block (feat)); then per upsampling step
 * lrelu(conv_up(nearest_upsample(feat))); out = conv_last(lrelu(conv_hr(feat))).
 * RRDB(x) = rdb3(rdb2(rdb1(x))) * 0.2 + x; each residual dense block concatenates its input with
 * every earlier output: x_j = lrelu(conv_j(cat(x, x_1..x_{j-1}))), out = conv5(cat(...)) * 0.2 + x.
 */
import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import { type RrdbConvKey, type RrdbKeyLayout, countBlocks, countUpconvs, rrdbConvKeys, rrdbKeyLayout } from './rrdbnet-keys.js';
import { floatTensor, fmt, listNames, tensorProblem } from './tensor-utils.js';
import { workingBytesPerPixel } from './working-memory.js';

export const RRDB_ARCHITECTURE = 'RRDBNet';
/** LeakyReLU slope in every RRDBNet variant. */
export const RRDB_LEAKY_RELU_SLOPE = 0.2;
/** Residual scaling of dense blocks and RRDBs. */
export const RRDB_RESIDUAL_SCALE = 0.2;

export interface RrdbHyperparameters {
  /** Image channels (conv_first's input channels divided by unshuffle^2). */
  readonly numInCh: number;
  readonly numOutCh: number;
  readonly numFeat: number;
  readonly numGrowCh: number;
  readonly numBlock: number;
  readonly scale: number;
  /** pixel_unshuffle factor applied to the input first: 1 (none), 2 (x2 models), 4 (x1 models). */
  readonly unshuffle: number;
  /** Nearest-upsampling factor before each conv_up, in order ([2, 2] in BasicSR). */
  readonly upsample: readonly number[];
  readonly keyLayout: RrdbKeyLayout;
}

/** What a state dict cannot say for itself. */
export interface RrdbOverrides {
  /**
   * Native scale. The tensors fix the upsampler's convolution count and conv_first's channels,
   * not how they split into unshuffle and upsampling: an old-layout x3 model (one nn.Upsample
   * by 3) looks like x2, and 4 input channels for 1 output may be an unshuffled gray model
   * (x2) or a 4-channel x4 model. By default: unshuffle when conv_first takes 4 or 16 times the
   * output channels, x2 per upsampling convolution.
   */
  upscale?: number;
}

export interface RrdbGeometry {
  readonly scale: number;
  readonly alignment: number;
  readonly receptiveRadius: number;
  readonly workingBytesPerPixel: number;
}

export interface RrdbOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: RrdbHyperparameters;
  readonly geometry: RrdbGeometry;
}

/**
 * Hyperparameters when the state dict has one of RRDBNet's key layouts, undefined otherwise.
 * A state dict with that layout but broken shapes or stray tensors still throws.
 */
export function detectRrdb(stateDict: StateDict, overrides?: RrdbOverrides): RrdbHyperparameters | undefined {
  if (!rrdbKeyLayout(stateDict.keys())) return undefined;
  return rrdbHyperparameters(stateDict, overrides);
}

/** Reads and validates every tensor; throws BadCheckpointError naming the offending tensor. */
export function rrdbHyperparameters(stateDict: StateDict, overrides: RrdbOverrides = {}): RrdbHyperparameters {
  checkOverrides(overrides);
  const keyLayout = rrdbKeyLayout(stateDict.keys());
  if (!keyLayout) {
    throw new UnsupportedArchitectureError(
      `Not an ${RRDB_ARCHITECTURE} state dict: none of conv_first.weight + body.0.rdb1.conv1.weight, conv_first.weight + RRDB_trunk.0.RDB1.conv1.weight, model.0.weight + model.1.sub.0.RDB1.conv1.0.weight is present`,
    );
  }
  const numBlock = countBlocks(stateDict.keys(), keyLayout);
  const numUp = countUpconvs(stateDict.keys(), keyLayout);
  const convs = rrdbConvKeys(keyLayout, numBlock, numUp);
  checkForeign(stateDict, convs, keyLayout);

  const source = (name: string) => convs.find((c) => c.name === name)!.source;
  const [numFeat, inCh] = convShape(stateDict, source('conv_first'), '[num_feat, in_channels, 3, 3]');
  const [numGrowCh] = convShape(stateDict, source('body.0.rdb1.conv1'), '[num_grow_ch, num_feat, 3, 3]');
  const [numOutCh] = convShape(stateDict, source('conv_last'), '[num_out_ch, num_feat, 3, 3]');
  const { unshuffle, upsample } = scaleLayout(inCh, numOutCh, numUp, overrides, `${source('conv_first')}.weight`);
  checkTensors(stateDict, expectedShapes(convs, numFeat, numGrowCh, inCh, numOutCh));

  const scale = upsample.reduce((a, b) => a * b, 1) / unshuffle;
  return { numInCh: inCh / unshuffle ** 2, numOutCh, numFeat, numGrowCh, numBlock, scale, unshuffle, upsample, keyLayout };
}

/**
 * Exact receptive radius in input pixels, for tiles whose edges sit on the alignment grid (the
 * pipeline aligns tiles and pads). Walks back from the output pixels of one aligned input block
 * [0, r) to the input pixels they read: a 3x3 conv widens by one position on its own grid, a
 * nearest upsample by f maps position y to floor(y / f), and unshuffled position q covers input
 * pixels [q r, q r + r - 1]. The floors make this (L + 2) r for BasicSR (L = 2 + 15 num_block
 * convolutions at the low resolution), a little more than the continuous estimate
 * (L + 1/2 + 3/4) r: x4plus (23 blocks) 349, anime_6B 94, x2plus 698.
 */
export function rrdbGeometry(hyper: RrdbHyperparameters): RrdbGeometry {
  const r = hyper.unshuffle;
  let lo = 0;
  let hi = hyper.scale * r - 1;
  const widen = (convs: number) => {
    lo -= convs;
    hi += convs;
  };
  widen(2); // conv_hr, conv_last
  for (let u = hyper.upsample.length - 1; u >= 0; u--) {
    widen(1); // conv_up
    const f = hyper.upsample[u]!;
    lo = Math.floor(lo / f);
    hi = Math.floor(hi / f);
  }
  widen(2 + 15 * hyper.numBlock); // conv_first, 3 x 5 per RRDB, conv_body
  // Pad before the block: 0 - lo r. Pad after it: (hi r + r - 1) - (r - 1).
  const left = -lo * r;
  const right = hi * r;
  return {
    scale: hyper.scale,
    alignment: alignmentOf(hyper),
    receptiveRadius: Math.max(left, right),
    workingBytesPerPixel: workingBytesPerPixel({
      // The dense block's widest concatenation in the trunk, or the features after the last upsampling.
      widestChannels: Math.max(hyper.numFeat + 4 * hyper.numGrowCh, hyper.numFeat * (hyper.scale * r) ** 2) / r ** 2,
      inChannels: hyper.numInCh,
      outChannels: hyper.numOutCh,
      scale: hyper.scale,
    }),
  };
}

/**
 * The unshuffle factor must divide H and W. RealESRGANer also reflect-pads every x2 model to a
 * multiple of 2 and every x1 model to a multiple of 4 whatever its layers (so an old-layout x2
 * with no unshuffle is padded too): matching its pixels at the edges means doing the same.
 * Both are powers of two, so the larger is their common multiple.
 */
function alignmentOf(hyper: RrdbHyperparameters): number {
  const reference = hyper.scale === 2 ? 2 : hyper.scale === 1 ? 4 : 1;
  return Math.max(hyper.unshuffle, reference);
}

/**
 * The ONNX graph: input `input` [N, C, H, W] (dynamic N, H, W; H and W multiples of the
 * alignment), output `output` [N, num_out_ch, H * scale, W * scale]. Initializers carry
 * BasicSR's names whatever the file's layout.
 */
export function buildRrdbOnnx(stateDict: StateDict, overrides?: RrdbOverrides): RrdbOnnx {
  const hyper = rrdbHyperparameters(stateDict, overrides);
  const geometry = rrdbGeometry(hyper);
  const convs = new Map(rrdbConvKeys(hyper.keyLayout, hyper.numBlock, hyper.upsample.length).map((c) => [c.name, c.source]));
  const g = new OnnxGraphBuilder(RRDB_ARCHITECTURE);
  g.input('input', 'float32', ['N', hyper.numInCh, 'H', 'W']);
  g.initializer('residual_scale', [], new Float32Array([RRDB_RESIDUAL_SCALE]));

  const conv = (name: string, x: string, lrelu = false): string => {
    for (const param of ['weight', 'bias']) {
      const entry = floatTensor(stateDict, `${convs.get(name)!}.${param}`);
      g.initializer(`${name}.${param}`, entry.shape, entry.data);
    }
    g.node('Conv', [x, `${name}.weight`, `${name}.bias`], [name], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([1, 1]),
      dilations: attr.ints([1, 1]),
      group: attr.int(1),
    });
    if (!lrelu) return name;
    g.node('LeakyRelu', [name], [`${name}.lrelu`], { alpha: attr.float(RRDB_LEAKY_RELU_SLOPE) });
    return `${name}.lrelu`;
  };
  // out = branch * 0.2 + x, the residual form of dense blocks and RRDBs.
  const residual = (branch: string, x: string, out: string): string => {
    g.node('Mul', [branch, 'residual_scale'], [`${out}.scaled`]);
    g.node('Add', [`${out}.scaled`, x], [out]);
    return out;
  };

  const x = hyper.unshuffle > 1 ? pixelUnshuffle(g, 'input', hyper.unshuffle) : 'input';
  const first = conv('conv_first', x);
  let feat = first;
  for (let i = 0; i < hyper.numBlock; i++) {
    const blockIn = feat;
    for (let k = 1; k <= 3; k++) {
      const prefix = `body.${i}.rdb${k}`;
      const dense = [feat];
      for (let j = 1; j <= 5; j++) {
        const name = `${prefix}.conv${j}`;
        let input = feat;
        if (j > 1) {
          g.node('Concat', dense, [`${name}.input`], { axis: attr.int(1) });
          input = `${name}.input`;
        }
        dense.push(conv(name, input, j < 5));
      }
      feat = residual(dense[5]!, feat, prefix);
    }
    feat = residual(feat, blockIn, `body.${i}`);
  }
  const body = conv('conv_body', feat);
  g.node('Add', [first, body], ['trunk']);
  feat = 'trunk';
  hyper.upsample.forEach((f, index) => {
    const u = index + 1;
    // asymmetric + floor is F.interpolate / nn.Upsample(mode='nearest') for an integer factor.
    g.initializer(`upsample${u}.scales`, [4], new Float32Array([1, 1, f, f]));
    g.node('Resize', [feat, '', `upsample${u}.scales`], [`upsample${u}`], {
      mode: attr.string('nearest'),
      coordinate_transformation_mode: attr.string('asymmetric'),
      nearest_mode: attr.string('floor'),
    });
    feat = conv(`conv_up${u}`, `upsample${u}`, true);
  });
  const last = conv('conv_last', conv('conv_hr', feat, true));
  g.node('Identity', [last], ['output']);
  g.output('output', 'float32', ['N', hyper.numOutCh, 'H_out', 'W_out']);

  const onnx = g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `${RRDB_ARCHITECTURE} x${hyper.scale} (${hyper.numBlock} blocks), converted from a PyTorch state dict by superres`,
    metadata: {
      architecture: RRDB_ARCHITECTURE,
      hyperparameters: JSON.stringify(hyper),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
  return { onnx, hyper, geometry };
}

/**
 * torch pixel_unshuffle: out[c r^2 + i r + j, h, w] = in[c, h r + i, w r + j]. ONNX SpaceToDepth
 * orders channels (i, j, c) instead, so: Reshape [N, C, H/r, r, W/r, r], Transpose to
 * [N, C, r, r, H/r, W/r], Reshape [N, C r^2, H/r, W/r], with H/r and W/r computed from the
 * input's shape so that N, H and W stay dynamic.
 */
function pixelUnshuffle(g: OnnxGraphBuilder, x: string, r: number): string {
  g.initializer('unshuffle.divisor', [4], new BigInt64Array([1n, 1n, BigInt(r), BigInt(r)]));
  g.initializer('unshuffle.channels', [4], new BigInt64Array([1n, BigInt(r * r), 1n, 1n]));
  g.initializer('unshuffle.nch', [3], new BigInt64Array([0n, 1n, 2n]));
  g.initializer('unshuffle.w', [1], new BigInt64Array([3n]));
  g.initializer('unshuffle.r', [1], new BigInt64Array([BigInt(r)]));
  g.node('Shape', [x], ['unshuffle.shape']);
  g.node('Div', ['unshuffle.shape', 'unshuffle.divisor'], ['unshuffle.low']); // [N, C, H/r, W/r]
  g.node('Gather', ['unshuffle.low', 'unshuffle.nch'], ['unshuffle.low_nch'], { axis: attr.int(0) });
  g.node('Gather', ['unshuffle.low', 'unshuffle.w'], ['unshuffle.low_w'], { axis: attr.int(0) });
  g.node('Concat', ['unshuffle.low_nch', 'unshuffle.r', 'unshuffle.low_w', 'unshuffle.r'], ['unshuffle.split_shape'], {
    axis: attr.int(0),
  });
  g.node('Mul', ['unshuffle.low', 'unshuffle.channels'], ['unshuffle.out_shape']); // [N, C r^2, H/r, W/r]
  g.node('Reshape', [x, 'unshuffle.split_shape'], ['unshuffle.split']);
  g.node('Transpose', ['unshuffle.split'], ['unshuffle.moved'], { perm: attr.ints([0, 1, 3, 5, 2, 4]) });
  g.node('Reshape', ['unshuffle.moved', 'unshuffle.out_shape'], ['unshuffle']);
  return 'unshuffle';
}

// ---- validation helpers ---------------------------------------------------------------------

/** Unshuffle factor and upsampling factors; their ratio is the scale. */
function scaleLayout(
  inCh: number,
  numOutCh: number,
  numUp: number,
  overrides: RrdbOverrides,
  firstName: string,
): { unshuffle: number; upsample: number[] } {
  const up = 2 ** numUp;
  const twos = Array.from({ length: numUp }, () => 2);
  if (overrides.upscale !== undefined) {
    // Old ESRGAN x3: a single upconv block whose nn.Upsample has scale_factor 3.
    if (numUp === 1 && overrides.upscale === 3) return { unshuffle: 1, upsample: [3] };
    const r = up / overrides.upscale;
    if (Number.isInteger(r) && inCh % (r * r) === 0) return { unshuffle: r, upsample: twos };
    throw new BadCheckpointError(
      `${RRDB_ARCHITECTURE}: upscale ${overrides.upscale} does not fit this checkpoint: ${numUp} upsampling convolution(s) give x${up}` +
        `, and ${firstName} takes ${inCh} channels`,
      { details: { option: 'upscale' } },
    );
  }
  const r = inCh === 16 * numOutCh ? 4 : inCh === 4 * numOutCh ? 2 : 1;
  if (up % r !== 0) {
    throw new BadCheckpointError(
      `${RRDB_ARCHITECTURE}: tensor ${firstName} takes ${inCh} = ${r * r} x ${numOutCh} channels (pixel_unshuffle by ${r}), ` +
        `but ${numUp} upsampling convolution(s) give only x${up}; pass the upscale option if the channels mean something else`,
    );
  }
  return { unshuffle: r, upsample: twos };
}

/** The leading two dims of a [out, in, 3, 3] weight that hyperparameters are read from. */
function convShape(stateDict: StateDict, prefix: string, expected: string): [number, number] {
  const name = `${prefix}.weight`;
  const shape = stateDict.get(name)?.shape;
  if (!shape) throw new BadCheckpointError(`${RRDB_ARCHITECTURE}: missing tensor ${name} (expected shape ${expected})`);
  if (shape.length !== 4 || shape[2] !== 3 || shape[3] !== 3 || shape[0]! < 1 || shape[1]! < 1) {
    throw new BadCheckpointError(`${RRDB_ARCHITECTURE}: tensor ${name} has shape ${fmt(shape)}, expected ${expected}`);
  }
  return [shape[0]!, shape[1]!];
}

function expectedShapes(
  convs: readonly RrdbConvKey[],
  numFeat: number,
  numGrowCh: number,
  inCh: number,
  numOutCh: number,
): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  for (const { name, source } of convs) {
    let out = numFeat;
    let input = numFeat;
    const dense = /\.conv([1-5])$/.exec(name);
    if (name === 'conv_first') input = inCh;
    else if (name === 'conv_last') out = numOutCh;
    else if (dense) {
      const j = Number(dense[1]);
      input = numFeat + (j - 1) * numGrowCh;
      if (j < 5) out = numGrowCh;
    }
    shapes.set(`${source}.weight`, [out, input, 3, 3]);
    shapes.set(`${source}.bias`, [out]);
  }
  return shapes;
}

/** Tensors no RRDBNet of this layout has: another architecture (ESRGAN+, pixel-shuffle upsampler...). */
function checkForeign(stateDict: StateDict, convs: readonly RrdbConvKey[], layout: RrdbKeyLayout): void {
  const known = new Set(convs.flatMap((c) => [`${c.source}.weight`, `${c.source}.bias`]));
  const foreign = [...stateDict.keys()].filter((k) => !known.has(k));
  if (foreign.length > 0) {
    throw new UnsupportedArchitectureError(
      `Not an ${RRDB_ARCHITECTURE} state dict (${layout} key layout): unexpected tensors ${listNames(foreign)}`,
      { details: { unexpected: foreign } },
    );
  }
}

function checkTensors(stateDict: StateDict, expected: Map<string, readonly number[]>): void {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${RRDB_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
}

function checkOverrides(overrides: RrdbOverrides): void {
  const value = overrides.upscale;
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new InvalidOptionError(`Option upscale must be a positive integer, got ${JSON.stringify(value)}`, {
      details: { option: 'upscale' },
    });
  }
}
