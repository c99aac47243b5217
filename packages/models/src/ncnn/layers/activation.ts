/**
 * Pixel-wise layers: ReLU (with slope: leaky), PReLU, Sigmoid, TanH, Swish, Mish, HardSigmoid,
 * HardSwish, Clip, AbsVal, Dropout, BatchNorm, Scale; and the activations ncnn fuses into
 * convolutions (activation_type 0..6, from ncnn's src/layer/fused_activation.h).
 */
import { attr } from '../../onnx/onnx-graph.js';
import { onlyInput, sameAs, type Blob, type LayerContext, type LayerConverter } from '../context.js';

const FLT_MAX = 3.4028234663852886e38;

/** A [C] per-channel array shaped to broadcast over a blob of this rank ([C, 1, 1] for 3-D). */
function perChannelDims(ctx: LayerContext, blob: Blob, count: number): number[] {
  if (blob.rank === 1) return [count];
  if (blob.rank === 2) return [count, 1];
  if (blob.rank === 3) return [count, 1, 1];
  throw ctx.unsupported(`works on 1-, 2- or 3-D blobs here; its input has ${blob.rank} dimensions`);
}

function checkOutermost(ctx: LayerContext, blob: Blob, count: number, what: string): void {
  if (count > 1 && blob.channels !== undefined && blob.channels !== count) {
    throw ctx.p.bad(`has ${count} ${what} but its input has ${blob.channels} channels`);
  }
  if (count > 1 && blob.channels === undefined && blob.rank === 3) blob.channels = count;
}

function x_times_hardsigmoid(ctx: LayerContext, x: string, alpha: number, beta: number, out: string): void {
  const gate = ctx.name('gate');
  ctx.g.node('HardSigmoid', [x], [gate], { alpha: attr.float(alpha), beta: attr.float(beta) });
  ctx.g.node('Mul', [x, gate], [out]);
}

/**
 * Applies ncnn's fused activation `type` with `params` to the ONNX value `x`; returns the value
 * holding the result (`x` itself for type 0).
 */
export function fusedActivation(ctx: LayerContext, x: string, type: number, params: readonly number[] | undefined, out: string): string {
  const need = (n: number): number[] => {
    if (!params || params.length < n) throw ctx.p.bad(`activation_type ${type} needs ${n} activation_params (key 10), got ${params?.length ?? 0}`);
    return [...params];
  };
  switch (type) {
    case 0:
      return x;
    case 1:
      ctx.g.node('Relu', [x], [out]);
      return out;
    case 2:
      ctx.g.node('LeakyRelu', [x], [out], { alpha: attr.float(need(1)[0]!) });
      return out;
    case 3: {
      const [min, max] = need(2) as [number, number];
      ctx.g.node('Clip', [x, ctx.constant('min', [], new Float32Array([min])), ctx.constant('max', [], new Float32Array([max]))], [out]);
      return out;
    }
    case 4:
      ctx.g.node('Sigmoid', [x], [out]);
      return out;
    case 5:
      mish(ctx, x, out);
      return out;
    case 6: {
      const [alpha, beta] = need(2) as [number, number];
      x_times_hardsigmoid(ctx, x, alpha, beta, out);
      return out;
    }
    default:
      throw ctx.unsupported(`activation_type ${type} is not one ncnn defines (0 none, 1 ReLU, 2 leaky ReLU, 3 clip, 4 sigmoid, 5 mish, 6 hardswish)`);
  }
}

function mish(ctx: LayerContext, x: string, out: string): void {
  const softplus = ctx.name('softplus');
  const tanh = ctx.name('tanh');
  ctx.g.node('Softplus', [x], [softplus]);
  ctx.g.node('Tanh', [softplus], [tanh]);
  ctx.g.node('Mul', [x, tanh], [out]);
}

/** A layer that maps each value on its own: one input, one output of the same shape. */
function unary(build: (ctx: LayerContext, x: string, out: string) => void): LayerConverter {
  return (ctx) => {
    const input = onlyInput(ctx);
    const out = ctx.name('out');
    build(ctx, input.onnx, out);
    sameAs(ctx, input, out);
  };
}

export const activationLayers: Record<string, LayerConverter> = {
  ReLU: unary((ctx, x, out) => {
    const slope = ctx.p.float(0, 0);
    if (slope === 0) ctx.g.node('Relu', [x], [out]);
    else ctx.g.node('LeakyRelu', [x], [out], { alpha: attr.float(slope) });
  }),
  Sigmoid: unary((ctx, x, out) => void ctx.g.node('Sigmoid', [x], [out])),
  TanH: unary((ctx, x, out) => void ctx.g.node('Tanh', [x], [out])),
  AbsVal: unary((ctx, x, out) => void ctx.g.node('Abs', [x], [out])),
  Swish: unary((ctx, x, out) => {
    const gate = ctx.name('sigmoid');
    ctx.g.node('Sigmoid', [x], [gate]);
    ctx.g.node('Mul', [x, gate], [out]);
  }),
  Mish: unary(mish),
  HardSigmoid: unary(
    (ctx, x, out) => void ctx.g.node('HardSigmoid', [x], [out], { alpha: attr.float(ctx.p.float(0, 0.2)), beta: attr.float(ctx.p.float(1, 0.5)) }),
  ),
  HardSwish: unary((ctx, x, out) => x_times_hardsigmoid(ctx, x, ctx.p.float(0, 0.2), ctx.p.float(1, 0.5), out)),
  Clip: unary((ctx, x, out) => {
    const min = ctx.constant('min', [], new Float32Array([ctx.p.float(0, -FLT_MAX)]));
    const max = ctx.constant('max', [], new Float32Array([ctx.p.float(1, FLT_MAX)]));
    ctx.g.node('Clip', [x, min, max], [out]);
  }),
  PReLU(ctx) {
    const input = onlyInput(ctx);
    const count = ctx.p.int(0, 0);
    const slope = ctx.bin.load(count, 1, { layer: ctx.layer, what: 'slope_data' });
    checkOutermost(ctx, input, count, 'slopes');
    const dims = count === 1 ? [1] : perChannelDims(ctx, input, count);
    const out = ctx.name('out');
    ctx.g.node('PRelu', [input.onnx, ctx.constant('slope', dims, slope)], [out]);
    sameAs(ctx, input, out);
  },
  Dropout(ctx) {
    // Inference: a scale, usually 1 (then the blob passes through).
    const input = onlyInput(ctx);
    const scale = ctx.p.float(0, 1);
    if (scale === 1) return void ctx.define(0, input);
    const out = ctx.name('out');
    ctx.g.node('Mul', [input.onnx, ctx.constant('scale', [], new Float32Array([scale]))], [out]);
    sameAs(ctx, input, out);
  },
  BatchNorm(ctx) {
    const input = onlyInput(ctx);
    const channels = ctx.p.int(0, 0);
    const eps = ctx.p.float(1, 0);
    const owner = (what: string) => ({ layer: ctx.layer, what });
    const slope = ctx.bin.load(channels, 1, owner('slope_data'));
    const mean = ctx.bin.load(channels, 1, owner('mean_data'));
    const variance = ctx.bin.load(channels, 1, owner('var_data'));
    const bias = ctx.bin.load(channels, 1, owner('bias_data'));
    checkOutermost(ctx, input, channels, 'channels');
    // As ncnn folds it at load time: y = b * x + a.
    const a = new Float32Array(channels);
    const b = new Float32Array(channels);
    for (let i = 0; i < channels; i++) {
      let sqrtVar = Math.fround(Math.sqrt(Math.fround(variance[i]! + eps)));
      if (sqrtVar === 0) sqrtVar = 0.0001;
      a[i] = bias[i]! - (slope[i]! * mean[i]!) / sqrtVar;
      b[i] = slope[i]! / sqrtVar;
    }
    const dims = perChannelDims(ctx, input, channels);
    const scaled = ctx.name('scaled');
    const out = ctx.name('out');
    ctx.g.node('Mul', [input.onnx, ctx.constant('b', dims, b)], [scaled]);
    ctx.g.node('Add', [scaled, ctx.constant('a', dims, a)], [out]);
    sameAs(ctx, input, out);
  },
  Scale(ctx) {
    const input = onlyInput(ctx);
    const size = ctx.p.int(0, 0);
    if (size === -233) throw ctx.unsupported('takes its scale from a second blob (scale_data_size -233), which is not supported');
    const scale = ctx.bin.load(size, 1, { layer: ctx.layer, what: 'scale_data' });
    const bias = ctx.p.int(1, 0) ? ctx.bin.load(size, 1, { layer: ctx.layer, what: 'bias_data' }) : undefined;
    checkOutermost(ctx, input, size, 'scales');
    const dims = size === 1 ? [1] : perChannelDims(ctx, input, size);
    const scaled = bias ? ctx.name('scaled') : ctx.name('out');
    ctx.g.node('Mul', [input.onnx, ctx.constant('scale', dims, scale)], [scaled]);
    if (!bias) return void sameAs(ctx, input, scaled);
    const out = ctx.name('out');
    ctx.g.node('Add', [scaled, ctx.constant('bias', dims, bias)], [out]);
    sameAs(ctx, input, out);
  },
};
