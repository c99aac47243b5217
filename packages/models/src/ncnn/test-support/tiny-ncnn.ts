// Hand-built ncnn models for tests: a .param text from layer lines, a .bin from weight arrays,
// and onnxruntime-node to run what the converter makes of them.
import * as ort from 'onnxruntime-node';
import { NCNN_TAG_FLOAT16 } from '../model-bin.js';

/** A .param text: magic, counts (layer lines, distinct output blobs), then the lines. */
export function paramText(lines: readonly string[]): string {
  const blobs = new Set<string>();
  for (const line of lines) {
    const t = line.trim().split(/\s+/);
    const inputs = Number(t[2]);
    const outputs = Number(t[3]);
    for (const b of t.slice(4 + inputs, 4 + inputs + outputs)) blobs.add(b);
  }
  return `7767517\n${lines.length} ${blobs.size}\n${lines.join('\n')}\n`;
}

/** float32 -> IEEE binary16 bits, round to nearest even. */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Builds a .bin the way ncnn writes one. */
export class BinWriter {
  private readonly parts: Uint8Array[] = [];

  /** Raw float32 values, no tag (ModelBin type 1: biases, slopes). */
  raw(values: ArrayLike<number>): this {
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    this.parts.push(out);
    return this;
  }

  /** A type-0 array stored as float32: tag 0 (or the given tag), then the values. */
  float32(values: ArrayLike<number>, tag = 0): this {
    this.tag(tag);
    return this.raw(values);
  }

  /** A type-0 array stored as float16: tag 0x01306B47, halves, padded to 4 bytes unless told not to. */
  float16(values: ArrayLike<number>, pad = true): this {
    this.tag(NCNN_TAG_FLOAT16);
    const size = pad ? Math.ceil((values.length * 2) / 4) * 4 : values.length * 2;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setUint16(i * 2, floatToHalf(values[i]!), true);
    this.parts.push(out);
    return this;
  }

  tag(tag: number): this {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, tag >>> 0, true);
    this.parts.push(out);
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** A deterministic pseudo-random sequence in [-0.5, 0.5). */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export function randomArray(count: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: count }, () => next() * scale);
}

/** Runs a converted graph on one NCHW input. */
export async function runOnnx(onnx: Uint8Array, data: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, [...dims]) });
    const out = result[session.outputNames[0]!]!;
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

/**
 * A tiny SRVGG-like network in ncnn form: conv 3->4 (3x3) + PReLU, conv 4->3*s*s (3x3),
 * PixelShuffle s, plus the input upsampled (nearest) by s. Receptive radius 2, scale s.
 */
export function tinySrvggNcnn(scale = 2, seed = 7): { param: string; bin: Uint8Array } {
  const out = 3 * scale * scale;
  const param = paramText([
    'Input            input        0 1 data',
    'Split            split        1 2 data data_a data_b',
    'Convolution      conv0        1 1 data_a c0 0=4 1=3 4=1 5=1 6=108',
    'PReLU            prelu0       1 1 c0 p0 0=4',
    `Convolution      conv1        1 1 p0 c1 0=${out} 1=3 4=1 5=1 6=${out * 36}`,
    `PixelShuffle     shuffle      1 1 c1 up 0=${scale}`,
    `Interp           base         1 1 data_b base 0=1 1=${scale}.0 2=${scale}.0`,
    'BinaryOp         add          2 1 up base output 0=0',
  ]);
  const bin = new BinWriter()
    .float16(randomArray(108, seed, 0.4))
    .raw(randomArray(4, seed + 1, 0.1))
    .raw(randomArray(4, seed + 2, 0.5))
    .float16(randomArray(out * 36, seed + 3, 0.4))
    .raw(randomArray(out, seed + 4, 0.1))
    .bytes();
  return { param, bin };
}
