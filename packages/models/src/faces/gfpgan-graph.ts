/**
 * GFPGANv1Clean (GFPGAN v1.3 / v1.4; `gfpgan/archs/gfpganv1_clean_arch.py`,
 * `stylegan2_clean_arch.py`; facts and lines in docs/research/face-enhance-upstream.md section 6)
 * as GFPGANer runs it: a U-Net encoder to 4x4, a linear layer to one style vector per decoder
 * layer, a U-Net decoder whose features give the SFT scale and shift of each level, and the
 * StyleGAN2 decoder (modulated convolutions, noise, to-RGB skips). Built as ONNX from the
 * checkpoint, sizes and widths read from the tensors.
 *
 * Two choices, both exact rewrites or documented departures:
 * - Modulation is applied to the input, not the weights: for batch 1,
 *   conv(x, W * s) * d = conv(x * s, W) * d with d[o] = rsqrt(sum_i (sum_k W[o,i,k]^2) s[i]^2 + 1e-8),
 *   so every convolution keeps a static weight ONNX Runtime can optimise.
 * - Noise: upstream draws fresh random noise on every call (randomize_noise=True, no seed); this
 *   graph uses the checkpoint's stored `noises.noise{i}` buffers (randomize_noise=False), so a
 *   face restores the same way every time.
 *
 * Graph: `face` [1, 3, S, S] RGB in [-1, 1] (S = out_size, 512 for the released models) ->
 * `restored` [1, 3, S, S] RGB, roughly [-1, 1] (not clamped).
 */
import { BadCheckpointError } from '@superres/core';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { CONVERTER_VERSION } from '../onnx/version.js';

export const GFPGAN_ARCHITECTURE = 'GFPGANv1Clean';
const SLOPE = 0.2;

export interface GfpganHyperparameters {
  readonly outSize: number;
  readonly styleDim: number;
  /** Style vectors the decoder reads (2 log2(outSize) - 2). */
  readonly numLatent: number;
}

export function detectGfpgan(stateDict: StateDict): GfpganHyperparameters | undefined {
  if (!stateDict.has('stylegan_decoder.constant_input.weight') || !stateDict.has('final_linear.weight')) return undefined;
  let downs = 0;
  while (stateDict.has(`conv_body_down.${downs}.conv1.weight`)) downs++;
  const outSize = 2 ** (downs + 2);
  const styleDim = stateDict.get('stylegan_decoder.style_conv1.modulated_conv.modulation.weight')?.shape[1];
  const linearOut = stateDict.get('final_linear.weight')!.shape[0]!;
  if (!styleDim || linearOut % styleDim !== 0) throw new BadCheckpointError('GFPGAN checkpoint: final_linear does not give whole style vectors');
  const numLatent = linearOut / styleDim;
  if (numLatent !== 2 * (downs + 2) - 2) {
    throw new BadCheckpointError(`GFPGAN checkpoint: ${numLatent} style vectors for a ${outSize}x${outSize} decoder, expected ${2 * (downs + 2) - 2}`);
  }
  return { outSize, styleDim, numLatent };
}

class Graph {
  readonly b = new OnnxGraphBuilder('gfpgan');
  private n = 0;
  constructor(private readonly sd: StateDict) {}

  float(name: string): TensorEntry & { data: Float32Array } {
    const t = this.sd.get(name);
    if (!t || !(t.data instanceof Float32Array)) throw new BadCheckpointError(`GFPGAN checkpoint: missing float tensor ${name}`);
    return t as TensorEntry & { data: Float32Array };
  }

  name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  constant(dims: readonly number[], data: Float32Array | BigInt64Array, prefix = 'const'): string {
    const name = this.name(prefix);
    this.b.initializer(name, dims, data);
    return name;
  }

  op(type: string, inputs: string[], attributes: Parameters<OnnxGraphBuilder['node']>[3] = {}): string {
    const out = this.name(type);
    this.b.node(type, inputs, [out], attributes);
    return out;
  }

  leaky(x: string): string {
    return this.op('LeakyRelu', [x], { alpha: attr.float(SLOPE) });
  }

  /** nn.Conv2d with `p.weight` (and `p.bias` when present), padding k // 2. */
  conv(x: string, p: string): string {
    const w = this.float(`${p}.weight`);
    const k = w.shape[2]!;
    const inputs = [x, this.constant(w.shape, w.data, `${p}.weight`)];
    if (this.sd.has(`${p}.bias`)) inputs.push(this.constant([w.shape[0]!], this.float(`${p}.bias`).data, `${p}.bias`));
    const pad = Math.floor(k / 2);
    return this.op('Conv', inputs, { kernel_shape: attr.ints([k, k]), pads: attr.ints([pad, pad, pad, pad]) });
  }

  /** F.interpolate(scale_factor, mode='bilinear', align_corners=False). */
  bilinear(x: string, factor: number): string {
    const scales = this.constant([4], new Float32Array([1, 1, factor, factor]), 'scales');
    return this.op('Resize', [x, '', scales], { mode: attr.string('linear'), coordinate_transformation_mode: attr.string('half_pixel') });
  }

  resBlock(x: string, p: string, factor: number): string {
    let out = this.leaky(this.conv(x, `${p}.conv1`));
    out = this.leaky(this.conv(this.bilinear(out, factor), `${p}.conv2`));
    return this.op('Add', [out, this.conv(this.bilinear(x, factor), `${p}.skip`)]);
  }

  /** style vector i of `latent` [1, n, d] as [1, d]. */
  styleAt(latent: string, i: number): string {
    return this.op('Gather', [latent, this.constant([], new BigInt64Array([BigInt(i)]), 'index')], { axis: attr.int(1) });
  }

  /**
   * ModulatedConv2d for batch 1, modulation moved to the input (see the file comment):
   * out = conv(x * s, W) [* d], s = modulation(style).
   */
  modulatedConv(x: string, style: string, p: string, options: { demodulate: boolean; upsample: boolean }): string {
    const w = this.float(`${p}.weight`); // [1, out, in, k, k]
    const [, outCh, inCh, k] = w.shape as [number, number, number, number, number];
    const mw = this.float(`${p}.modulation.weight`); // [in, styleDim]
    const mb = this.float(`${p}.modulation.bias`);
    const s = this.op('Gemm', [style, this.constant(mw.shape, mw.data, `${p}.mod.w`), this.constant([inCh], mb.data, `${p}.mod.b`)], {
      transB: attr.int(1),
    }); // [1, in]
    const s4 = this.op('Reshape', [s, this.constant([4], new BigInt64Array([1n, BigInt(inCh), 1n, 1n]), 'shape')]);
    let h = options.upsample ? this.bilinear(x, 2) : x;
    h = this.op('Mul', [h, s4]);
    const pad = Math.floor(k / 2);
    h = this.op('Conv', [h, this.constant([outCh, inCh, k, k], w.data, `${p}.w`)], {
      kernel_shape: attr.ints([k, k]),
      pads: attr.ints([pad, pad, pad, pad]),
    });
    if (!options.demodulate) return h;
    // d[o] = rsqrt(sum_i sq[o, i] s[i]^2 + 1e-8), sq[o, i] = sum_k W[o, i, k]^2 (static).
    const sq = new Float32Array(inCh * outCh); // stored [in, out] for s^2 @ sq
    const kk = k * k;
    for (let o = 0; o < outCh; o++) {
      for (let i = 0; i < inCh; i++) {
        let sum = 0;
        for (let j = 0; j < kk; j++) {
          const v = w.data[(o * inCh + i) * kk + j]!;
          sum += v * v;
        }
        sq[i * outCh + o] = sum;
      }
    }
    const d = this.op('MatMul', [this.op('Mul', [s, s]), this.constant([inCh, outCh], sq, `${p}.sq`)]); // [1, out]
    const inv = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [d, this.constant([], new Float32Array([1e-8]), 'eps')])])]);
    const inv4 = this.op('Reshape', [inv, this.constant([4], new BigInt64Array([1n, BigInt(outCh), 1n, 1n]), 'shape')]);
    return this.op('Mul', [h, inv4]);
  }

  /** StyleConv: modulated conv x sqrt(2), + strength * stored noise, + bias, LeakyReLU(0.2). */
  styleConv(x: string, style: string, p: string, noise: string, upsample: boolean): string {
    let h = this.modulatedConv(x, style, `${p}.modulated_conv`, { demodulate: true, upsample });
    h = this.op('Mul', [h, this.constant([], new Float32Array([Math.SQRT2]), 'gain')]);
    const strength = this.float(`${p}.weight`);
    const n = this.float(noise);
    const scaled = new Float32Array(n.data.length);
    for (let i = 0; i < scaled.length; i++) scaled[i] = n.data[i]! * strength.data[0]!;
    h = this.op('Add', [h, this.constant(n.shape, scaled, `${noise}.scaled`)]);
    h = this.op('Add', [h, this.constant(this.float(`${p}.bias`).shape, this.float(`${p}.bias`).data, `${p}.bias`)]);
    return this.leaky(h);
  }

  toRgb(x: string, style: string, p: string, skip?: string): string {
    let h = this.modulatedConv(x, style, `${p}.modulated_conv`, { demodulate: false, upsample: false });
    h = this.op('Add', [h, this.constant([1, 3, 1, 1], this.float(`${p}.bias`).data, `${p}.bias`)]);
    return skip ? this.op('Add', [h, this.bilinear(skip, 2)]) : h;
  }
}

export interface GfpganOnnx {
  readonly onnx: Uint8Array;
  readonly hyper: GfpganHyperparameters;
}

export function buildGfpganOnnx(stateDict: StateDict): GfpganOnnx {
  const hyper = detectGfpgan(stateDict);
  if (!hyper) throw new BadCheckpointError('Not a GFPGANv1Clean checkpoint: no stylegan_decoder.constant_input.weight / final_linear.weight');
  const g = new Graph(stateDict);
  const levels = Math.log2(hyper.outSize) - 2; // down and up blocks, SFT levels
  g.b.input('face', 'float32', [1, 3, hyper.outSize, hyper.outSize]);

  // U-Net encoder down to 4x4, the style vectors, the decoder's SFT conditions.
  let feat = g.leaky(g.conv('face', 'conv_body_first'));
  const skips: string[] = [];
  for (let i = 0; i < levels; i++) {
    feat = g.resBlock(feat, `conv_body_down.${i}`, 0.5);
    skips.unshift(feat);
  }
  feat = g.leaky(g.conv(feat, 'final_conv'));
  const fl = g.float('final_linear.weight');
  const flat = g.op('Flatten', [feat], { axis: attr.int(1) });
  const styles = g.op('Gemm', [flat, g.constant(fl.shape, fl.data, 'final_linear.w'), g.constant([fl.shape[0]!], g.float('final_linear.bias').data, 'final_linear.b')], {
    transB: attr.int(1),
  });
  const latent = g.op('Reshape', [styles, g.constant([3], new BigInt64Array([1n, BigInt(hyper.numLatent), BigInt(hyper.styleDim)]), 'shape')]);
  const conditions: string[] = [];
  for (let i = 0; i < levels; i++) {
    feat = g.resBlock(g.op('Add', [feat, skips[i]!]), `conv_body_up.${i}`, 2);
    for (const kind of ['condition_scale', 'condition_shift']) {
      conditions.push(g.conv(g.leaky(g.conv(feat, `${kind}.${i}.0`)), `${kind}.${i}.2`));
    }
  }

  // StyleGAN2 decoder with SFT on the second half of the channels of each upsampling conv.
  const d = 'stylegan_decoder';
  const cw = g.float(`${d}.constant_input.weight`);
  let out = g.constant(cw.shape, cw.data, 'constant_input');
  out = g.styleConv(out, g.styleAt(latent, 0), `${d}.style_conv1`, `${d}.noises.noise0`, false);
  let skip = g.toRgb(out, g.styleAt(latent, 1), `${d}.to_rgb1`);
  for (let level = 0, i = 1; level < levels; level++, i += 2) {
    out = g.styleConv(out, g.styleAt(latent, i), `${d}.style_convs.${2 * level}`, `${d}.noises.noise${i}`, true);
    const channels = g.float(`${d}.style_convs.${2 * level}.modulated_conv.weight`).shape[1]!;
    const half = g.constant([2], new BigInt64Array([BigInt(channels / 2), BigInt(channels - channels / 2)]), 'split');
    const same = g.name('same');
    const sft = g.name('sft');
    g.b.node('Split', [out, half], [same, sft], { axis: attr.int(1) });
    const modulated = g.op('Add', [g.op('Mul', [sft, conditions[i - 1]!]), conditions[i]!]);
    out = g.op('Concat', [same, modulated], { axis: attr.int(1) });
    out = g.styleConv(out, g.styleAt(latent, i + 1), `${d}.style_convs.${2 * level + 1}`, `${d}.noises.noise${i + 1}`, false);
    skip = g.toRgb(out, g.styleAt(latent, i + 2), `${d}.to_rgbs.${level}`, skip);
  }
  g.b.node('Identity', [skip], ['restored']);
  g.b.output('restored', 'float32', [1, 3, hyper.outSize, hyper.outSize]);
  const onnx = g.b.toBytes({ producerName: 'superres', producerVersion: CONVERTER_VERSION, metadata: { architecture: GFPGAN_ARCHITECTURE } });
  return { onnx, hyper };
}
