/**
 * SRVGGNetCompact (Real-ESRGAN `realesrgan/archs/srvgg_arch.py`): hyperparameters read from a
 * state dict, and the equivalent ONNX graph.
 *
 * Layout: `body` is a ModuleList of conv, act, (conv, act) x num_conv, conv. Convolutions sit at
 * even indices 0, 2, ..., 2 * (num_conv + 1); activations at the odd indices in between, and
 * only PReLU activations own a tensor (`body.{odd}.weight`, shape [num_feat]).
 * forward(x) = pixel_shuffle(body(x), upscale) + nearest_upsample(x, upscale).
 */
import { BadCheckpointError, InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { addBlockedPrelu, signInputChannels } from './prelu-nchwc.js';
import { workingBytesPerPixel } from './working-memory.js';
import { CONVERTER_VERSION } from '../onnx/version.js';
import { floatTensor, fmt, listNames, tensorProblem } from './tensor-utils.js';

export const SRVGG_ARCHITECTURE = 'SRVGGNetCompact';
/** BasicSR's LeakyReLU slope for act_type 'leakyrelu'. */
export const SRVGG_LEAKY_RELU_SLOPE = 0.1;

export type SrvggActivation = 'prelu' | 'relu' | 'leakyrelu';
const ACTIVATIONS: readonly SrvggActivation[] = ['prelu', 'relu', 'leakyrelu'];

export interface SrvggHyperparameters {
  readonly numInCh: number;
  readonly numOutCh: number;
  readonly numFeat: number;
  readonly numConv: number;
  readonly upscale: number;
  readonly activation: SrvggActivation;
}

/** What a state dict cannot say for itself. */
export interface SrvggOverrides {
  /**
   * Needed when the checkpoint has no PReLU weights: ReLU and LeakyReLU own no tensors, so
   * nothing in the file tells them apart, and a guess would give wrong pixels silently.
   */
  activation?: SrvggActivation;
  /** Output channels; by default the input channel count, else the first of 3, 4, 1 that fits. */
  numOutCh?: number;
  /** Upscale factor; by default derived from the last convolution's channels. */
  upscale?: number;
}

export interface SrvggGeometry {
  readonly scale: number;
  readonly alignment: number;
  readonly receptiveRadius: number;
  readonly workingBytesPerPixel: number;
}

export interface SrvggOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: SrvggHyperparameters;
  readonly geometry: SrvggGeometry;
}

const KEY = /^body\.(\d+)\.(weight|bias)$/;

/**
 * Hyperparameters when the state dict has SRVGGNetCompact's key layout (`body.0.weight` and only
 * `body.<n>.weight|bias` keys), undefined otherwise. A state dict with that layout but broken
 * shapes still throws BadCheckpointError: that is more useful than "unknown architecture".
 */
export function detectSrvgg(stateDict: StateDict, overrides?: SrvggOverrides): SrvggHyperparameters | undefined {
  if (!stateDict.has('body.0.weight')) return undefined;
  for (const key of stateDict.keys()) if (!KEY.test(key)) return undefined;
  return srvggHyperparameters(stateDict, overrides);
}

/** Reads and validates every tensor; throws BadCheckpointError naming the offending tensor. */
export function srvggHyperparameters(stateDict: StateDict, overrides: SrvggOverrides = {}): SrvggHyperparameters {
  checkOverrides(overrides);
  const foreign = [...stateDict.keys()].filter((k) => !KEY.test(k));
  if (foreign.length > 0) {
    throw new UnsupportedArchitectureError(
      `Not an ${SRVGG_ARCHITECTURE} state dict: unexpected tensors ${listNames(foreign)} (expected only body.<n>.weight and body.<n>.bias)`,
      { details: { unexpected: foreign } },
    );
  }
  const first = stateDict.get('body.0.weight');
  if (!first) throw new BadCheckpointError(`${SRVGG_ARCHITECTURE}: missing tensor body.0.weight`);
  if (first.shape.length !== 4 || first.shape[2] !== 3 || first.shape[3] !== 3) {
    throw new BadCheckpointError(
      `${SRVGG_ARCHITECTURE}: tensor body.0.weight has shape ${fmt(first.shape)}, expected [num_feat, num_in_ch, 3, 3]`,
    );
  }
  const numFeat = first.shape[0]!;
  const numInCh = first.shape[1]!;

  const indices = [...stateDict.keys()].map((k) => Number(KEY.exec(k)![1]));
  const last = Math.max(...indices);
  if (last < 2 || last % 2 !== 0) {
    throw new BadCheckpointError(
      `${SRVGG_ARCHITECTURE}: the highest body index is ${last}; the last convolution must sit at an even index >= 2`,
    );
  }
  const numConv = last / 2 - 1;
  const lastWeight = stateDict.get(`body.${last}.weight`);
  const lastOut = lastWeight?.shape.length === 4 ? lastWeight.shape[0]! : undefined;
  const prelu = stateDict.has('body.1.weight');

  const expected = expectedShapes(numFeat, numInCh, numConv, lastOut ?? 0, prelu);
  checkTensors(stateDict, expected, lastOut === undefined ? `body.${last}.weight` : undefined);

  const { numOutCh, upscale } = outputLayout(lastOut!, numInCh, overrides, `body.${last}.weight`);
  if (numOutCh !== numInCh && numOutCh !== 1 && numInCh !== 1) {
    // forward() adds the upsampled input to the output: channels must broadcast.
    throw new BadCheckpointError(
      `${SRVGG_ARCHITECTURE}: ${numOutCh} output channels cannot be added to ${numInCh} input channels`,
    );
  }
  return { numInCh, numOutCh, numFeat, numConv, upscale, activation: activationOf(prelu, overrides) };
}

/**
 * RealESRGANer pads the input (reflect) to a multiple of 2 for x2 networks and of 4 for x1
 * networks whatever the architecture; SRVGG needs no alignment itself, but the padding changes
 * the pixels near the right and bottom edges, so matching the reference means padding too.
 */
export function referenceAlignment(scale: number): number {
  return scale === 2 ? 2 : scale === 1 ? 4 : 1;
}

export function srvggGeometry(hyper: SrvggHyperparameters): SrvggGeometry {
  // Every 3x3 convolution widens the receptive field by one input pixel each side.
  return {
    scale: hyper.upscale,
    alignment: referenceAlignment(hyper.upscale),
    receptiveRadius: hyper.numConv + 2,
    workingBytesPerPixel: workingBytesPerPixel({
      // The trunk's features, or conv_last's output before the pixel shuffle, whichever is wider.
      widestChannels: Math.max(hyper.numFeat, hyper.numOutCh * hyper.upscale ** 2),
      inChannels: hyper.numInCh,
      outChannels: hyper.numOutCh,
      scale: hyper.upscale,
    }),
  };
}

/** The ONNX graph: input `input` [N, C, H, W] (dynamic N, H, W), output `output`. */
export function buildSrvggOnnx(stateDict: StateDict, overrides?: SrvggOverrides): SrvggOnnx {
  const hyper = srvggHyperparameters(stateDict, overrides);
  const geometry = srvggGeometry(hyper);
  const { numInCh, numOutCh, numConv, upscale, activation } = hyper;
  const g = new OnnxGraphBuilder(SRVGG_ARCHITECTURE);
  g.input('input', 'float32', ['N', numInCh, 'H', 'W']);

  let x = 'input';
  // Per input channel of the next convolution: -1 where the PReLU before it was computed negated.
  let signs: Float32Array | undefined;
  for (let k = 0; k <= numConv + 1; k++) {
    const i = 2 * k;
    const weight = floatTensor(stateDict, `body.${i}.weight`);
    g.initializer(`body.${i}.weight`, weight.shape, signs ? signInputChannels(weight.data, weight.shape, signs) : weight.data);
    const bias = floatTensor(stateDict, `body.${i}.bias`);
    g.initializer(`body.${i}.bias`, bias.shape, bias.data);
    g.node('Conv', [x, `body.${i}.weight`, `body.${i}.bias`], [`body.${i}`], {
      kernel_shape: attr.ints([3, 3]),
      pads: attr.ints([1, 1, 1, 1]),
      strides: attr.ints([1, 1]),
      dilations: attr.ints([1, 1]),
      group: attr.int(1),
    });
    x = `body.${i}`;
    signs = undefined;
    if (k === numConv + 1) break;
    const act = `body.${i + 1}`;
    if (activation === 'prelu') {
      const rewrite = addBlockedPrelu(g, act, x, floatTensor(stateDict, `${act}.weight`).data);
      signs = rewrite.signs;
    } else if (activation === 'relu') {
      g.node('Relu', [x], [act]);
    } else {
      g.node('LeakyRelu', [x], [act], { alpha: attr.float(SRVGG_LEAKY_RELU_SLOPE) });
    }
    x = act;
  }
  // DepthToSpace in CRD mode is exactly torch.nn.functional.pixel_shuffle.
  g.node('DepthToSpace', [x], ['upsampled'], { blocksize: attr.int(upscale), mode: attr.string('CRD') });
  // asymmetric + floor is F.interpolate(mode='nearest') for an integer scale factor.
  g.initializer('base_scales', [4], new Float32Array([1, 1, upscale, upscale]));
  g.node('Resize', ['input', '', 'base_scales'], ['base'], {
    mode: attr.string('nearest'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    nearest_mode: attr.string('floor'),
  });
  g.node('Add', ['upsampled', 'base'], ['output']);
  g.output('output', 'float32', ['N', Math.max(numInCh, numOutCh), 'H_out', 'W_out']);

  const onnx = g.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    docString: `${SRVGG_ARCHITECTURE} x${upscale}, converted from a PyTorch state dict by superres`,
    metadata: {
      architecture: SRVGG_ARCHITECTURE,
      hyperparameters: JSON.stringify(hyper),
      scale: String(geometry.scale),
      alignment: String(geometry.alignment),
      receptive_radius: String(geometry.receptiveRadius),
      converter_version: CONVERTER_VERSION,
    },
  });
  return { onnx, hyper, geometry };
}

// ---- validation helpers ---------------------------------------------------------------------

function expectedShapes(
  numFeat: number,
  numInCh: number,
  numConv: number,
  lastOut: number,
  prelu: boolean,
): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  const lastIndex = 2 * (numConv + 1);
  for (let i = 0; i <= lastIndex; i += 2) {
    const out = i === lastIndex ? lastOut : numFeat;
    shapes.set(`body.${i}.weight`, [out, i === 0 ? numInCh : numFeat, 3, 3]);
    shapes.set(`body.${i}.bias`, [out]);
    if (prelu && i < lastIndex) shapes.set(`body.${i + 1}.weight`, [numFeat]);
  }
  return shapes;
}

function checkTensors(stateDict: StateDict, expected: Map<string, readonly number[]>, badLast: string | undefined): void {
  const problems: string[] = [];
  if (badLast !== undefined) {
    const shape = stateDict.get(badLast)?.shape;
    problems.push(
      shape ? `tensor ${badLast} has shape ${fmt(shape)}, expected [out_channels, num_feat, 3, 3]` : `missing tensor ${badLast}`,
    );
  }
  for (const [name, shape] of expected) {
    if (name === badLast) continue;
    const problem = tensorProblem(stateDict, name, shape);
    if (problem) problems.push(problem);
  }
  const unexpected = [...stateDict.keys()].filter((k) => !expected.has(k));
  if (unexpected.length > 0) {
    problems.push(`unexpected tensors ${listNames(unexpected)} (an activation other than PReLU has no weights)`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new BadCheckpointError(`${SRVGG_ARCHITECTURE}: ${shown}`, { details: { problems } });
  }
}

function outputLayout(
  lastOut: number,
  numInCh: number,
  overrides: SrvggOverrides,
  lastName: string,
): { numOutCh: number; upscale: number } {
  if (overrides.upscale !== undefined) {
    const numOutCh = lastOut / overrides.upscale ** 2;
    if (Number.isInteger(numOutCh) && (overrides.numOutCh === undefined || overrides.numOutCh === numOutCh)) {
      return { numOutCh, upscale: overrides.upscale };
    }
  } else {
    // out_channels * upscale^2 = lastOut; out_channels usually equals the input's, else 3, 4, 1.
    const candidates = overrides.numOutCh !== undefined ? [overrides.numOutCh] : [numInCh, 3, 4, 1];
    for (const numOutCh of candidates) {
      const upscale = Math.round(Math.sqrt(lastOut / numOutCh));
      if (upscale >= 1 && upscale * upscale * numOutCh === lastOut) return { numOutCh, upscale };
    }
  }
  const told = [
    overrides.numOutCh !== undefined ? `num_out_ch ${overrides.numOutCh}` : '',
    overrides.upscale !== undefined ? `upscale ${overrides.upscale}` : '',
  ].filter(Boolean);
  throw new BadCheckpointError(
    `${SRVGG_ARCHITECTURE}: tensor ${lastName} has ${lastOut} output channels, which is not num_out_ch x upscale^2 for an integer upscale` +
      (told.length > 0 ? ` with ${told.join(' and ')}` : ` (num_out_ch tried: ${numInCh}, 3, 4, 1)`),
  );
}

function activationOf(prelu: boolean, overrides: SrvggOverrides): SrvggActivation {
  if (prelu) {
    if (overrides.activation !== undefined && overrides.activation !== 'prelu') {
      throw new InvalidOptionError(
        `Option activation is "${overrides.activation}", but the checkpoint holds PReLU weights (body.1.weight)`,
        { details: { option: 'activation' } },
      );
    }
    return 'prelu';
  }
  if (overrides.activation === undefined || overrides.activation === 'prelu') {
    throw new UnsupportedArchitectureError(
      `${SRVGG_ARCHITECTURE} checkpoint without PReLU weights (body.1.weight): its activation (relu or leakyrelu) is not stored in the file; pass the activation option ('relu' or 'leakyrelu')`,
      { details: { option: 'activation' } },
    );
  }
  return overrides.activation;
}

function checkOverrides(overrides: SrvggOverrides): void {
  if (overrides.activation !== undefined && !ACTIVATIONS.includes(overrides.activation)) {
    throw new InvalidOptionError(
      `Option activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(overrides.activation)}`,
      { details: { option: 'activation' } },
    );
  }
  for (const option of ['numOutCh', 'upscale'] as const) {
    const value = overrides[option];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new InvalidOptionError(`Option ${option} must be a positive integer, got ${JSON.stringify(value)}`, {
        details: { option },
      });
    }
  }
}
