/**
 * RetinaFace as facexlib ships it (`facexlib/detection/retinaface_net.py`, `retinaface.py`;
 * facts and lines in docs/research/face-enhance-upstream.md section 4): a MobileNet-0.25 or
 * ResNet-50 body, a three-level FPN, SSH context modules and per-level class, box and landmark
 * heads. Built as ONNX from the checkpoint, every BatchNorm folded into its convolution (eval).
 *
 * Graph: `image` [1, 3, H, W], BGR 0-255 (as cv2 reads it; the mean (104, 117, 123) is subtracted
 * inside) -> `loc` [1, N, 4], `conf` [1, N, 2] (softmax), `landms` [1, N, 10], N priors in the
 * order of retinaface-decode.ts (level, row, column, anchor).
 */
import { BadCheckpointError } from '@superres/core';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';

export const RETINAFACE_ARCHITECTURE = 'RetinaFace';
const BN_EPS = 1e-5;
const MEAN_BGR = [104, 117, 123];

export type RetinaFaceBackbone = 'mobilenet0.25' | 'resnet50';

export interface RetinaFaceHyperparameters {
  readonly backbone: RetinaFaceBackbone;
  /** FPN, SSH and head width (64 for MobileNet-0.25, 256 for ResNet-50). */
  readonly outChannel: number;
  /** ResNet-50 bottlenecks per stage ([3, 4, 6, 3]); empty for MobileNet. */
  readonly resnetBlocks: readonly number[];
}

/** The state dict without DataParallel's `module.` prefix (facexlib strips it the same way). */
export function stripModulePrefix(stateDict: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [key, value] of stateDict) out.set(key.startsWith('module.') ? key.slice(7) : key, value);
  return out;
}

/** Hyperparameters when the state dict is a RetinaFace's (after stripModulePrefix), else undefined. */
export function detectRetinaFace(stateDict: StateDict): RetinaFaceHyperparameters | undefined {
  if (!stateDict.has('ClassHead.0.conv1x1.weight') || !stateDict.has('fpn.output1.0.weight')) return undefined;
  const outChannel = shapeOf(stateDict, 'fpn.output1.0.weight')[0]!;
  if (stateDict.has('body.stage1.0.0.weight')) return { backbone: 'mobilenet0.25', outChannel, resnetBlocks: [] };
  if (stateDict.has('body.conv1.weight')) {
    const resnetBlocks = [1, 2, 3, 4].map((layer) => {
      let n = 0;
      while (stateDict.has(`body.layer${layer}.${n}.conv1.weight`)) n++;
      return n;
    });
    return { backbone: 'resnet50', outChannel, resnetBlocks };
  }
  throw new BadCheckpointError('RetinaFace checkpoint with an unknown body: expected body.stage1.* (MobileNet-0.25) or body.conv1 (ResNet-50)');
}

function shapeOf(stateDict: StateDict, name: string): readonly number[] {
  const t = stateDict.get(name);
  if (!t) throw new BadCheckpointError(`RetinaFace checkpoint: missing tensor ${name}`);
  return t.shape;
}

type Activation = 'none' | 'relu' | { leaky: number };

/** Builds the graph node by node; every convolution reads its weights from the state dict. */
class Graph {
  readonly b = new OnnxGraphBuilder('retinaface');
  private n = 0;
  constructor(private readonly sd: StateDict) {}

  name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  float(name: string): TensorEntry & { data: Float32Array } {
    const t = this.sd.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new BadCheckpointError(`RetinaFace checkpoint: missing float tensor ${name}`);
    return t as TensorEntry & { data: Float32Array };
  }

  /** conv (no bias) + BatchNorm folded, then the activation. `conv`/`bn` are key prefixes. */
  convBn(x: string, conv: string, bn: string, options: { stride?: number; group?: number; act: Activation }): string {
    const w = this.float(`${conv}.weight`);
    const [outCh, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
    const gamma = this.float(`${bn}.weight`).data;
    const beta = this.float(`${bn}.bias`).data;
    const mean = this.float(`${bn}.running_mean`).data;
    const variance = this.float(`${bn}.running_var`).data;
    for (const [what, t] of [['weight', gamma], ['bias', beta], ['running_mean', mean], ['running_var', variance]] as const) {
      if (t.length !== outCh) throw new BadCheckpointError(`RetinaFace checkpoint: ${bn}.${what} has ${t.length} values for ${outCh} channels`);
    }
    const per = inPerGroup * kh * kw;
    const weight = new Float32Array(w.data.length);
    const bias = new Float32Array(outCh);
    for (let o = 0; o < outCh; o++) {
      const scale = gamma[o]! / Math.sqrt(variance[o]! + BN_EPS);
      for (let i = 0; i < per; i++) weight[o * per + i] = w.data[o * per + i]! * scale;
      bias[o] = beta[o]! - mean[o]! * scale;
    }
    const wName = this.name(`${conv}.w`);
    const bName = this.name(`${conv}.b`);
    this.b.initializer(wName, w.shape, weight).initializer(bName, [outCh], bias);
    const out = this.name(conv);
    const pad = (kh - 1) / 2;
    this.b.node('Conv', [x, wName, bName], [out], {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints([options.stride ?? 1, options.stride ?? 1]),
      pads: attr.ints([pad, pad, pad, pad]),
      group: attr.int(options.group ?? 1),
    });
    return this.act(out, options.act);
  }

  act(x: string, act: Activation): string {
    if (act === 'none') return x;
    const out = this.name('act');
    if (act === 'relu' || act.leaky === 0) this.b.node('Relu', [x], [out]);
    else this.b.node('LeakyRelu', [x], [out], { alpha: attr.float(act.leaky) });
    return out;
  }

  /** A 1x1 convolution with bias (the heads). */
  conv1x1(x: string, prefix: string): string {
    const w = this.float(`${prefix}.weight`);
    const b = this.float(`${prefix}.bias`);
    const wName = this.name(`${prefix}.w`);
    const bName = this.name(`${prefix}.b`);
    this.b.initializer(wName, w.shape, w.data).initializer(bName, b.shape, b.data);
    const out = this.name(prefix);
    this.b.node('Conv', [x, wName, bName], [out], { kernel_shape: attr.ints([1, 1]) });
    return out;
  }

  op(type: string, inputs: string[], attributes: Parameters<OnnxGraphBuilder['node']>[3] = {}): string {
    const out = this.name(type);
    this.b.node(type, inputs, [out], attributes);
    return out;
  }

  constant(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    this.b.initializer(name, dims, data);
    return name;
  }
}

/** facexlib's MobileNetV1 0.25: stage1..3 (strides 8, 16, 32). */
function mobilenetBody(g: Graph, x: string): [string, string, string] {
  const strides: Record<string, readonly number[]> = { stage1: [2, 1, 2, 1, 2, 1], stage2: [2, 1, 1, 1, 1, 1], stage3: [2, 1] };
  const leaky = { leaky: 0.1 };
  const out: string[] = [];
  let h = x;
  for (const stage of ['stage1', 'stage2', 'stage3'] as const) {
    strides[stage]!.forEach((stride, i) => {
      const p = `body.${stage}.${i}`;
      if (stage === 'stage1' && i === 0) {
        h = g.convBn(h, `${p}.0`, `${p}.1`, { stride, act: leaky });
        return;
      }
      const channels = g.float(`${p}.0.weight`).shape[0]!;
      h = g.convBn(h, `${p}.0`, `${p}.1`, { stride, group: channels, act: leaky });
      h = g.convBn(h, `${p}.3`, `${p}.4`, { act: leaky });
    });
    out.push(h);
  }
  return out as [string, string, string];
}

/** torchvision's ResNet-50 up to layer4 (outputs of layer2, layer3, layer4). */
function resnetBody(g: Graph, x: string, blocks: readonly number[]): [string, string, string] {
  let h = g.convBn(x, 'body.conv1', 'body.bn1', { stride: 2, act: 'relu' });
  h = g.op('MaxPool', [h], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  const out: string[] = [];
  blocks.forEach((count, l) => {
    for (let i = 0; i < count; i++) {
      const p = `body.layer${l + 1}.${i}`;
      const stride = l > 0 && i === 0 ? 2 : 1;
      let y = g.convBn(h, `${p}.conv1`, `${p}.bn1`, { act: 'relu' });
      y = g.convBn(y, `${p}.conv2`, `${p}.bn2`, { stride, act: 'relu' });
      y = g.convBn(y, `${p}.conv3`, `${p}.bn3`, { act: 'none' });
      const skip = i === 0 ? g.convBn(h, `${p}.downsample.0`, `${p}.downsample.1`, { stride, act: 'none' }) : h;
      h = g.op('Relu', [g.op('Add', [y, skip])]);
    }
    if (l >= 1) out.push(h);
  });
  return out as [string, string, string];
}

/** PyTorch's `interpolate(x, size=like's size, mode='nearest')`: floor(dst * in / out). */
function nearestLike(g: Graph, x: string, like: string): string {
  const shape = g.op('Shape', [like]);
  return g.op('Resize', [x, '', '', shape], {
    mode: attr.string('nearest'),
    coordinate_transformation_mode: attr.string('asymmetric'),
    nearest_mode: attr.string('floor'),
  });
}

function ssh(g: Graph, x: string, p: string, leaky: number): string {
  const act: Activation = { leaky };
  const c3 = g.convBn(x, `${p}.conv3X3.0`, `${p}.conv3X3.1`, { act: 'none' });
  const c51 = g.convBn(x, `${p}.conv5X5_1.0`, `${p}.conv5X5_1.1`, { act });
  const c5 = g.convBn(c51, `${p}.conv5X5_2.0`, `${p}.conv5X5_2.1`, { act: 'none' });
  const c72 = g.convBn(c51, `${p}.conv7X7_2.0`, `${p}.conv7X7_2.1`, { act });
  const c7 = g.convBn(c72, `${p}.conv7x7_3.0`, `${p}.conv7x7_3.1`, { act: 'none' });
  return g.op('Relu', [g.op('Concat', [c3, c5, c7], { axis: attr.int(1) })]);
}

export interface RetinaFaceOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: RetinaFaceHyperparameters;
}

export function buildRetinaFaceOnnx(input: StateDict): RetinaFaceOnnx {
  const sd = stripModulePrefix(input);
  const hyper = detectRetinaFace(sd);
  if (!hyper) throw new BadCheckpointError('Not a RetinaFace checkpoint: no ClassHead.0.conv1x1.weight / fpn.output1.0.weight');
  const g = new Graph(sd);
  g.b.input('image', 'float32', [1, 3, 'height', 'width']);
  const mean = g.constant('mean_bgr', [1, 3, 1, 1], new Float32Array(MEAN_BGR));
  const x = g.op('Sub', ['image', mean]);
  const [c3, c4, c5] = hyper.backbone === 'mobilenet0.25' ? mobilenetBody(g, x) : resnetBody(g, x, hyper.resnetBlocks);

  const leaky = hyper.outChannel <= 64 ? 0.1 : 0;
  const act: Activation = { leaky };
  const o1 = g.convBn(c3, 'fpn.output1.0', 'fpn.output1.1', { act });
  let o2 = g.convBn(c4, 'fpn.output2.0', 'fpn.output2.1', { act });
  const o3 = g.convBn(c5, 'fpn.output3.0', 'fpn.output3.1', { act });
  o2 = g.convBn(g.op('Add', [o2, nearestLike(g, o3, o2)]), 'fpn.merge2.0', 'fpn.merge2.1', { act });
  const m1 = g.convBn(g.op('Add', [o1, nearestLike(g, o2, o1)]), 'fpn.merge1.0', 'fpn.merge1.1', { act });
  const features = [ssh(g, m1, 'ssh1', leaky), ssh(g, o2, 'ssh2', leaky), ssh(g, o3, 'ssh3', leaky)];

  const head = (kind: string, perAnchor: number): string => {
    const shape = g.constant(`${kind}_shape`, [3], new BigInt64Array([0n, -1n, BigInt(perAnchor)]));
    const levels = features.map((f, i) => {
      const conv = g.conv1x1(f, `${kind}.${i}.conv1x1`);
      const expected = 2 * perAnchor;
      const outCh = g.float(`${kind}.${i}.conv1x1.weight`).shape[0];
      if (outCh !== expected) throw new BadCheckpointError(`RetinaFace checkpoint: ${kind}.${i}.conv1x1 has ${outCh} outputs, expected ${expected} (2 anchors x ${perAnchor})`);
      return g.op('Reshape', [g.op('Transpose', [conv], { perm: attr.ints([0, 2, 3, 1]) }), shape]);
    });
    return g.op('Concat', levels, { axis: attr.int(1) });
  };
  g.b.node('Identity', [head('BboxHead', 4)], ['loc']);
  g.b.node('Softmax', [head('ClassHead', 2)], ['conf'], { axis: attr.int(-1) });
  g.b.node('Identity', [head('LandmarkHead', 10)], ['landms']);
  g.b.output('loc', 'float32', [1, 'priors', 4]).output('conf', 'float32', [1, 'priors', 2]).output('landms', 'float32', [1, 'priors', 10]);
  const onnx = g.b.toBytes({
    producerName: 'superres',
    producerVersion: CONVERTER_VERSION,
    metadata: { architecture: RETINAFACE_ARCHITECTURE, backbone: hyper.backbone },
  });
  return { onnx, hyper };
}

