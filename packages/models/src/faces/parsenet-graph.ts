/**
 * ParseNet, facexlib's face-parsing network (`facexlib/parsing/parsenet.py`; facts and lines in
 * docs/research/face-enhance-upstream.md section 5), used for the paste-back mask of face
 * enhancement. Built as ONNX from the checkpoint, its shape read from the tensors: an encoder of
 * residual blocks going down, a body of residual blocks with a residual around it, a decoder
 * going up, and the 19-class mask head. Every convolution pads by reflection; BatchNorm is
 * folded into its convolution (eval); activations are LeakyReLU(0.2).
 *
 * Graph: `image` [1, 3, H, W], RGB normalised to [-1, 1] ((x / 255 - 0.5) / 0.5), H and W
 * multiples of 2^(down steps) -> `mask` [1, classes, H, W], the parsing logits. The network's
 * image head (`out_img_conv`) is not part of the graph: face enhancement never reads it.
 */
import { BadCheckpointError } from '@superres/core';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';

export const PARSENET_ARCHITECTURE = 'ParseNet';
const BN_EPS = 1e-5;
const LEAKY_SLOPE = 0.2;

export interface ParseNetHyperparameters {
  /** Residual blocks going down (stride 2) after the first convolution. */
  readonly downBlocks: number;
  readonly bodyBlocks: number;
  readonly upBlocks: number;
  readonly classes: number;
}

/** Hyperparameters when the state dict is a ParseNet's, else undefined. */
export function detectParseNet(stateDict: StateDict): ParseNetHyperparameters | undefined {
  if (!stateDict.has('out_mask_conv.conv2d.weight') || !stateDict.has('encoder.0.conv2d.weight')) return undefined;
  const count = (prefix: string) => {
    let n = 0;
    while (stateDict.has(`${prefix}.${n}.conv1.conv2d.weight`)) n++;
    return n;
  };
  let downBlocks = 0;
  while (stateDict.has(`encoder.${downBlocks + 1}.conv1.conv2d.weight`)) downBlocks++;
  const classes = stateDict.get('out_mask_conv.conv2d.weight')!.shape[0]!;
  return { downBlocks, bodyBlocks: count('body'), upBlocks: count('decoder'), classes };
}

type Scale = 'none' | 'down' | 'up';

class Graph {
  readonly b = new OnnxGraphBuilder('parsenet');
  private n = 0;
  constructor(private readonly sd: StateDict) {}

  private float(name: string): TensorEntry & { data: Float32Array } {
    const t = this.sd.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new BadCheckpointError(`ParseNet checkpoint: missing float tensor ${name}`);
    return t as TensorEntry & { data: Float32Array };
  }

  private name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  op(type: string, inputs: string[], attributes: Parameters<OnnxGraphBuilder['node']>[3] = {}): string {
    const out = this.name(type);
    this.b.node(type, inputs, [out], attributes);
    return out;
  }

  /**
   * ParseNet's ConvLayer: nearest x2 first when scale is 'up', reflection padding, the
   * convolution (stride 2 when 'down'), BatchNorm (folded) when the layer has one, LeakyReLU when
   * asked. `p` is the layer's key prefix (`<p>.conv2d.weight`, `<p>.norm.norm.*`).
   */
  convLayer(x: string, p: string, scale: Scale, relu: boolean): string {
    const w = this.float(`${p}.conv2d.weight`);
    const [outCh, inCh, kh, kw] = w.shape as [number, number, number, number];
    let weight = w.data;
    let bias: Float32Array;
    if (this.sd.has(`${p}.norm.norm.weight`)) {
      const gamma = this.float(`${p}.norm.norm.weight`).data;
      const beta = this.float(`${p}.norm.norm.bias`).data;
      const mean = this.float(`${p}.norm.norm.running_mean`).data;
      const variance = this.float(`${p}.norm.norm.running_var`).data;
      const per = inCh * kh * kw;
      weight = new Float32Array(w.data.length);
      bias = new Float32Array(outCh);
      for (let o = 0; o < outCh; o++) {
        const s = gamma[o]! / Math.sqrt(variance[o]! + BN_EPS);
        for (let i = 0; i < per; i++) weight[o * per + i] = w.data[o * per + i]! * s;
        bias[o] = beta[o]! - mean[o]! * s;
      }
    } else {
      const b = this.float(`${p}.conv2d.bias`);
      if (b.data.length !== outCh) throw new BadCheckpointError(`ParseNet checkpoint: ${p}.conv2d.bias has ${b.data.length} values for ${outCh} channels`);
      bias = b.data;
    }
    let h = x;
    if (scale === 'up') {
      const scales = this.name('scales');
      this.b.initializer(scales, [4], new Float32Array([1, 1, 2, 2]));
      h = this.op('Resize', [h, '', scales], {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      });
    }
    const pad = Math.ceil((kh - 1) / 2);
    const pads = this.name('pads');
    this.b.initializer(pads, [8], new BigInt64Array([0n, 0n, BigInt(pad), BigInt(pad), 0n, 0n, BigInt(pad), BigInt(pad)]));
    h = this.op('Pad', [h, pads], { mode: attr.string('reflect') });
    const wName = this.name(`${p}.w`);
    const bName = this.name(`${p}.b`);
    this.b.initializer(wName, w.shape, weight).initializer(bName, [outCh], bias);
    const stride = scale === 'down' ? 2 : 1;
    h = this.op('Conv', [h, wName, bName], { kernel_shape: attr.ints([kh, kw]), strides: attr.ints([stride, stride]) });
    return relu ? this.op('LeakyRelu', [h], { alpha: attr.float(LEAKY_SLOPE) }) : h;
  }

  /** ResidualBlock: shortcut (identity, or a biased ConvLayer when it scales or changes width) + conv2(conv1(x)). */
  residual(x: string, p: string, scale: Scale): string {
    const first: Scale = scale === 'up' ? 'up' : 'none';
    const second: Scale = scale === 'down' ? 'down' : 'none';
    const y = this.convLayer(this.convLayer(x, `${p}.conv1`, first, true), `${p}.conv2`, second, false);
    const hasShortcut = this.sd.has(`${p}.shortcut_func.conv2d.weight`);
    if (!hasShortcut && scale !== 'none') throw new BadCheckpointError(`ParseNet checkpoint: ${p} scales but has no shortcut_func`);
    const skip = hasShortcut ? this.convLayer(x, `${p}.shortcut_func`, scale, false) : x;
    return this.op('Add', [skip, y]);
  }
}

export interface ParseNetOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: ParseNetHyperparameters;
}

export function buildParseNetOnnx(stateDict: StateDict): ParseNetOnnx {
  const hyper = detectParseNet(stateDict);
  if (!hyper) throw new BadCheckpointError('Not a ParseNet checkpoint: no out_mask_conv.conv2d.weight / encoder.0.conv2d.weight');
  const g = new Graph(stateDict);
  g.b.input('image', 'float32', [1, 3, 'height', 'width']);
  let h = g.convLayer('image', 'encoder.0', 'none', false);
  for (let i = 1; i <= hyper.downBlocks; i++) h = g.residual(h, `encoder.${i}`, 'down');
  let body = h;
  for (let i = 0; i < hyper.bodyBlocks; i++) body = g.residual(body, `body.${i}`, 'none');
  h = g.op('Add', [h, body]);
  for (let i = 0; i < hyper.upBlocks; i++) h = g.residual(h, `decoder.${i}`, 'up');
  g.b.node('Identity', [g.convLayer(h, 'out_mask_conv', 'none', false)], ['mask']);
  g.b.output('mask', 'float32', [1, hyper.classes, 'height', 'width']);
  const onnx = g.b.toBytes({ producerName: 'superres', producerVersion: CONVERTER_VERSION, metadata: { architecture: PARSENET_ARCHITECTURE } });
  return { onnx, hyper };
}
