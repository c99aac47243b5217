/**
 * Convolution, ConvolutionDepthWise, Deconvolution, DeconvolutionDepthWise and InnerProduct.
 * Parameter keys and weight layouts from ncnn's operation-param-weight-table.md and
 * src/layer/{convolution,convolutiondepthwise,deconvolution,deconvolutiondepthwise}.cpp:
 *
 * - Convolution(DepthWise) weights are [out][in / group][kh][kw], as ONNX Conv's.
 * - Deconvolution weights are [out][in][kh][kw]; ONNX ConvTranspose wants [in][out][kh][kw].
 * - DeconvolutionDepthWise weights are [group][out / group][in / group][kh][kw]; ONNX wants
 *   [in][out / group][kh][kw].
 * - Pads: any pad > 0 pads with pad_value (key 18) on those sides; all four -233 is ONNX
 *   SAME_UPPER, all four -234 SAME_LOWER; anything else pads nothing. A deconvolution cuts its
 *   pads from the output instead.
 */
import { attr, type OnnxAttribute } from '../../onnx/onnx-graph.js';
import { onlyInput, requireChannels, type Blob, type LayerContext, type LayerConverter } from '../context.js';
import type { LayerParams } from '../layer-params.js';
import { convolutionAxis, deconvolutionAxis, mapAxis, type Spatial } from '../spatial.js';
import { fusedActivation } from './activation.js';

interface Kernel {
  numOutput: number;
  kw: number;
  kh: number;
  dw: number;
  dh: number;
  sw: number;
  sh: number;
  /** left, right, top, bottom as written. */
  pads: [number, number, number, number];
  biasTerm: boolean;
  weightSize: number;
  group: number;
  activation: number;
  activationParams: readonly number[] | undefined;
}

function readKernel(ctx: LayerContext, opts: { deconv: boolean; depthwise: boolean }): Kernel {
  const { p } = ctx;
  const kw = p.int(1, 0);
  const dw = p.int(2, 1);
  const sw = p.int(3, 1);
  const left = p.int(4, 0);
  const right = p.int(15, left);
  const top = p.int(14, left);
  const k: Kernel = {
    numOutput: p.int(0, 0),
    kw,
    kh: p.int(11, kw),
    dw,
    dh: p.int(12, dw),
    sw,
    sh: p.int(13, sw),
    pads: [left, right, top, p.int(16, top)],
    biasTerm: p.int(5, 0) !== 0,
    weightSize: p.int(6, 0),
    group: opts.depthwise ? p.int(7, 1) : 1,
    activation: p.int(9, 0),
    activationParams: p.floats(10),
  };
  const positive: [string, number][] = [
    ['num_output (0)', k.numOutput],
    ['kernel_w (1)', k.kw],
    ['kernel_h (11)', k.kh],
    ['dilation_w (2)', k.dw],
    ['dilation_h (12)', k.dh],
    ['stride_w (3)', k.sw],
    ['stride_h (13)', k.sh],
    ['weight_data_size (6)', k.weightSize],
    ['group (7)', k.group],
  ];
  for (const [name, value] of positive) if (value < 1) throw p.bad(`${name} must be at least 1, got ${value}`);
  if (k.numOutput % k.group !== 0) throw p.bad(`num_output ${k.numOutput} is not a multiple of group ${k.group}`);
  const dynamicKey = opts.deconv ? 28 : 19;
  if (p.int(dynamicKey, 0) !== 0) throw ctx.unsupported('takes its weights from input blobs (dynamic_weight), which is not supported');
  if (!opts.deconv && p.int(8, 0) !== 0) {
    throw ctx.unsupported(`is int8-quantized (int8_scale_term ${p.int(8, 0)}), which superres does not convert: use the float model`);
  }
  return k;
}

/** in-channels per group, from weight_data_size = out * (in / group) * kh * kw. */
function inputChannelsPerGroup(p: LayerParams, k: Kernel): number {
  const perOutput = k.weightSize / k.numOutput / (k.kw * k.kh);
  if (!Number.isInteger(perOutput) || perOutput < 1) {
    throw p.bad(
      `weight_data_size ${k.weightSize} is not num_output ${k.numOutput} x kernel ${k.kh}x${k.kw} x a whole number of input channels`,
      { weightSize: k.weightSize },
    );
  }
  return perOutput;
}

type PadMode = { kind: 'explicit'; left: number; right: number; top: number; bottom: number } | { kind: 'same'; upper: boolean };

function padMode(p: LayerParams, pads: readonly number[]): PadMode {
  const [left, right, top, bottom] = pads as [number, number, number, number];
  if (pads.some((v) => v > 0)) {
    if (pads.some((v) => v < 0)) throw p.bad(`mixes positive and negative pads (left ${left}, right ${right}, top ${top}, bottom ${bottom})`);
    return { kind: 'explicit', left, right, top, bottom };
  }
  if (pads.every((v) => v === -233)) return { kind: 'same', upper: true };
  if (pads.every((v) => v === -234)) return { kind: 'same', upper: false };
  return { kind: 'explicit', left: 0, right: 0, top: 0, bottom: 0 };
}

/** Begin/end pads of one axis of a SAME convolution, for an input of `extra` + a multiple of the stride. */
function samePads(extra: number, extent: number, stride: number, upper: boolean): [number, number] {
  const total = Math.max(0, (Math.ceil(extra / stride) - 1) * stride + extent - extra);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

function convSpatial(ctx: LayerContext, input: Blob, k: Kernel, pads: PadMode): Spatial | undefined {
  const s = input.spatial;
  if (!s) return undefined;
  const axis = (a: typeof s.x, kernel: number, dilation: number, stride: number, explicit: [number, number]) => {
    const extent = dilation * (kernel - 1) + 1;
    const [padBegin, padEnd] = pads.kind === 'same' ? samePads(a.extra, extent, stride, pads.upper) : explicit;
    return mapAxis(a, convolutionAxis(a, { extent, stride, padBegin, padEnd }), () => ctx.where());
  };
  const e = pads.kind === 'explicit' ? pads : { left: 0, right: 0, top: 0, bottom: 0 };
  return {
    y: axis(s.y, k.kh, k.dh, k.sh, [e.top, e.bottom]),
    x: axis(s.x, k.kw, k.dw, k.sw, [e.left, e.right]),
  };
}

function finish(ctx: LayerContext, k: Kernel, convOut: string, spatial: Spatial | undefined): void {
  const out = fusedActivation(ctx, convOut, k.activation, k.activationParams, ctx.name('act'));
  ctx.define(0, { onnx: out, rank: 3, channels: k.numOutput, ...(spatial ? { spatial } : {}) });
}

function convolution(depthwise: boolean): LayerConverter {
  return (ctx) => {
    const input = onlyInput(ctx);
    const k = readKernel(ctx, { deconv: false, depthwise });
    const inPerGroup = inputChannelsPerGroup(ctx.p, k);
    requireChannels(ctx, input, inPerGroup * k.group, 'its weight_data_size');
    const weight = ctx.bin.load(k.weightSize, 0, { layer: ctx.layer, what: 'weight_data' });
    const bias = k.biasTerm ? ctx.bin.load(k.numOutput, 1, { layer: ctx.layer, what: 'bias_data' }) : undefined;
    const pads = padMode(ctx.p, k.pads);
    const padValue = ctx.p.float(18, 0);
    let x = input.onnx;
    const attributes: Record<string, OnnxAttribute> = {
      kernel_shape: attr.ints([k.kh, k.kw]),
      strides: attr.ints([k.sh, k.sw]),
      dilations: attr.ints([k.dh, k.dw]),
      group: attr.int(k.group),
    };
    if (pads.kind === 'same') {
      if (padValue !== 0) throw ctx.unsupported(`pads "same" (-233/-234) with pad_value ${padValue}, which is not supported`);
      attributes.auto_pad = attr.string(pads.upper ? 'SAME_UPPER' : 'SAME_LOWER');
    } else if (padValue !== 0) {
      // ONNX Conv pads with zeros only: pad with the value first.
      const padded = ctx.name('padded');
      const onnxPads = ctx.ints('pads', [0, 0, pads.top, pads.left, 0, 0, pads.bottom, pads.right]);
      ctx.g.node('Pad', [x, onnxPads, ctx.constant('pad_value', [], new Float32Array([padValue]))], [padded], { mode: attr.string('constant') });
      x = padded;
    } else {
      attributes.pads = attr.ints([pads.top, pads.left, pads.bottom, pads.right]);
    }
    const w = ctx.constant('weight', [k.numOutput, inPerGroup, k.kh, k.kw], weight);
    const inputs = bias ? [x, w, ctx.constant('bias', [k.numOutput], bias)] : [x, w];
    const convOut = ctx.name('conv');
    ctx.g.node('Conv', inputs, [convOut], attributes);
    finish(ctx, k, convOut, convSpatial(ctx, input, k, pads));
  };
}

function deconvolution(depthwise: boolean): LayerConverter {
  return (ctx) => {
    const input = onlyInput(ctx);
    const k = readKernel(ctx, { deconv: true, depthwise });
    const inPerGroup = inputChannelsPerGroup(ctx.p, k);
    const inChannels = inPerGroup * k.group;
    requireChannels(ctx, input, inChannels, 'its weight_data_size');
    const outputW = ctx.p.int(20, 0);
    if (outputW > 0 && ctx.p.int(21, outputW) > 0) {
      throw ctx.unsupported(`has a fixed output size (output_w ${outputW}), which only fits one input size: not a model superres can tile`);
    }
    const weight = ctx.bin.load(k.weightSize, 0, { layer: ctx.layer, what: 'weight_data' });
    const bias = k.biasTerm ? ctx.bin.load(k.numOutput, 1, { layer: ctx.layer, what: 'bias_data' }) : undefined;
    const [left, right, top, bottom] = k.pads;
    let cut = [0, 0, 0, 0];
    if (k.pads.some((v) => v > 0)) {
      if (k.pads.some((v) => v < 0)) throw ctx.p.bad(`mixes positive and negative pads (left ${left}, right ${right}, top ${top}, bottom ${bottom})`);
      cut = [top, left, bottom, right];
    }
    const outPadRight = ctx.p.int(18, 0);
    const outPadBottom = ctx.p.int(19, outPadRight);
    if (outPadRight < 0 || outPadBottom < 0) throw ctx.p.bad(`output pads must not be negative (${outPadRight}, ${outPadBottom})`);
    // Reorder to ONNX's [in][out / group][kh][kw].
    const maxk = k.kh * k.kw;
    const outPerGroup = k.numOutput / k.group;
    const reordered = new Float32Array(weight.length);
    for (let g = 0; g < k.group; g++) {
      for (let o = 0; o < outPerGroup; o++) {
        for (let i = 0; i < inPerGroup; i++) {
          const from = (((g * outPerGroup + o) * inPerGroup + i) * maxk);
          const to = (((g * inPerGroup + i) * outPerGroup + o) * maxk);
          reordered.set(weight.subarray(from, from + maxk), to);
        }
      }
    }
    const w = ctx.constant('weight', [inChannels, outPerGroup, k.kh, k.kw], reordered);
    const convOut = ctx.name('deconv');
    ctx.g.node('ConvTranspose', bias ? [input.onnx, w, ctx.constant('bias', [k.numOutput], bias)] : [input.onnx, w], [convOut], {
      kernel_shape: attr.ints([k.kh, k.kw]),
      strides: attr.ints([k.sh, k.sw]),
      dilations: attr.ints([k.dh, k.dw]),
      group: attr.int(k.group),
      pads: attr.ints(cut),
      output_padding: attr.ints([outPadBottom, outPadRight]),
    });
    const s = input.spatial;
    const spatial = s && {
      y: mapAxis(
        s.y,
        deconvolutionAxis(s.y, { extent: k.dh * (k.kh - 1) + 1, stride: k.sh, padBegin: cut[0]!, padEnd: cut[2]!, outputPad: outPadBottom }),
        () => ctx.where(),
      ),
      x: mapAxis(
        s.x,
        deconvolutionAxis(s.x, { extent: k.dw * (k.kw - 1) + 1, stride: k.sw, padBegin: cut[1]!, padEnd: cut[3]!, outputPad: outPadRight }),
        () => ctx.where(),
      ),
    };
    finish(ctx, k, convOut, spatial);
  };
}

const innerProduct: LayerConverter = (ctx) => {
  const input = onlyInput(ctx);
  if (input.spatial) {
    throw ctx.unsupported('flattens an image-sized blob into one vector: its output depends on the whole image, so it cannot be tiled');
  }
  const p = ctx.p;
  const numOutput = p.int(0, 0);
  const weightSize = p.int(2, 0);
  if (numOutput < 1 || weightSize < 1 || weightSize % numOutput !== 0) {
    throw p.bad(`weight_data_size ${weightSize} is not a multiple of num_output ${numOutput}`);
  }
  if (p.int(8, 0) !== 0) throw ctx.unsupported('is int8-quantized (int8_scale_term), which superres does not convert');
  const weight = ctx.bin.load(weightSize, 0, { layer: ctx.layer, what: 'weight_data' });
  const bias = p.int(1, 0) ? ctx.bin.load(numOutput, 1, { layer: ctx.layer, what: 'bias_data' }) : undefined;
  const flat = ctx.name('flat');
  ctx.g.node('Flatten', [input.onnx], [flat], { axis: attr.int(1) });
  const gemm = ctx.name('gemm');
  const w = ctx.constant('weight', [numOutput, weightSize / numOutput], weight);
  ctx.g.node('Gemm', bias ? [flat, w, ctx.constant('bias', [numOutput], bias)] : [flat, w], [gemm], { transB: attr.int(1) });
  const out = fusedActivation(ctx, gemm, p.int(9, 0), p.floats(10), ctx.name('act'));
  ctx.define(0, { onnx: out, rank: 1, channels: numOutput });
};

export const convolutionLayers: Record<string, LayerConverter> = {
  Convolution: convolution(false),
  ConvolutionDepthWise: convolution(true),
  Deconvolution: deconvolution(false),
  DeconvolutionDepthWise: deconvolution(true),
  InnerProduct: innerProduct,
};
