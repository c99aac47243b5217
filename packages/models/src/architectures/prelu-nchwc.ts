/**
 * PReLU written with ops ONNX Runtime's CPU kernels keep in their blocked (NCHWc) layout.
 *
 * ONNX Runtime cannot fuse a per-channel PRelu into its NCHWc convolution, so every PRelu reorders
 * the tensor out of the blocked layout and back (measured: 25% of SRVGGNetCompact's inference).
 * For any slope a, PReLU(y) = a*y + (1 - a)*relu(y), and where 1 - a >= 0,
 * (1 - a)*relu(y) = relu((1 - a)*y). Both scalings are depthwise 1x1 convolutions: the Relu fuses
 * into the first, the Add into the second, and the whole stays blocked. A channel with a > 1 is
 * computed negated (s = -1: -a*y + relu((a - 1)*y) = -PReLU(y)) and the next convolution's
 * weights for that channel are negated to undo it, so the identity holds for every slope.
 * Exact in real arithmetic; in float32 each output differs from PRelu by a rounding of a*y.
 */
import { attr, type OnnxGraphBuilder } from '../onnx/onnx-graph.js';

export interface PreluRewrite {
  /** The name of the tensor that equals s * PReLU(input) per channel. */
  output: string;
  /** s per channel (1 or -1): multiply the consuming convolution's input-channel weights by it. */
  signs: Float32Array;
}

/** Adds s*PReLU(`input`) with per-channel `slope` under `name`; see the file comment. */
export function addBlockedPrelu(g: OnnxGraphBuilder, name: string, input: string, slope: Float32Array): PreluRewrite {
  const channels = slope.length;
  const signs = slope.map((a) => (a > 1 ? -1 : 1));
  const linear = slope.map((a, c) => signs[c]! * a);
  const rectified = slope.map((a, c) => signs[c]! * (1 - a));
  const depthwise = { kernel_shape: attr.ints([1, 1]), group: attr.int(channels) };
  g.initializer(`${name}.linear`, [channels, 1, 1, 1], linear);
  g.initializer(`${name}.rectified`, [channels, 1, 1, 1], rectified);
  g.node('Conv', [input, `${name}.rectified`], [`${name}.rectified_out`], depthwise);
  g.node('Relu', [`${name}.rectified_out`], [`${name}.relu`]);
  g.node('Conv', [input, `${name}.linear`], [`${name}.linear_out`], depthwise);
  g.node('Add', [`${name}.linear_out`, `${name}.relu`], [name]);
  return { output: name, signs };
}

/** `weight` [out, in, kh, kw] with input channel c multiplied by `signs[c]` (a copy). */
export function signInputChannels(weight: Float32Array, shape: readonly number[], signs: Float32Array): Float32Array {
  const [out = 0, inputs = 0, kh = 1, kw = 1] = shape;
  const plane = kh * kw;
  const copy = weight.slice();
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < inputs; c++) {
      if (signs[c] === 1) continue;
      const base = (o * inputs + c) * plane;
      for (let k = 0; k < plane; k++) copy[base + k] = -copy[base + k]!;
    }
  }
  return copy;
}
