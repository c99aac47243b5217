/**
 * What a layer converter works with: the layer and its parameters, the weights reader, the ONNX
 * graph being built, and what is known of every blob (rank, channels, where its pixels come from).
 *
 * Blobs become ONNX tensors with a leading batch axis of 1: ncnn's 3-D (c, h, w) is [1, C, H, W],
 * 2-D (h, w) is [1, H, W], 1-D (w) is [1, W].
 */
import { UnsupportedArchitectureError } from '@superres/core';
import type { OnnxGraphBuilder } from '../onnx/onnx-graph.js';
import type { LayerParams } from './layer-params.js';
import type { NcnnModelBin } from './model-bin.js';
import type { NcnnLayer } from './param.js';
import type { Spatial } from './spatial.js';

export interface Blob {
  /** The ONNX value holding it. */
  readonly onnx: string;
  /** ncnn dims: 1..4 (batch not counted). */
  readonly rank: number;
  /** Length of the outermost ncnn axis (channels of a 3-D blob) when known; learnt on use. */
  channels?: number;
  /** The full ncnn shape, outermost first, for constants (MemoryData). */
  readonly shape?: readonly number[];
  /** For blobs whose last two axes are the image's (absent for constants). */
  readonly spatial?: Spatial;
}

export interface LayerContext {
  readonly layer: NcnnLayer;
  readonly p: LayerParams;
  readonly g: OnnxGraphBuilder;
  readonly bin: NcnnModelBin;
  readonly inputs: readonly Blob[];
  /** "<Type> layer "<name>" (.param line N)", for messages. */
  where(): string;
  /** A fresh ONNX value name for something this layer computes. */
  name(suffix: string): string;
  /** A float32 initializer; returns its name. */
  constant(suffix: string, dims: readonly number[], data: Float32Array): string;
  /** An int64 initializer; returns its name. */
  ints(suffix: string, values: readonly number[]): string;
  /** Sets output `index` to `blob`. */
  define(index: number, blob: Blob): void;
  /** An UnsupportedArchitectureError about this layer. */
  unsupported(message: string): UnsupportedArchitectureError;
}

export type LayerConverter = (ctx: LayerContext) => void;

/** The one input of a layer that takes one. */
export function onlyInput(ctx: LayerContext): Blob {
  if (ctx.inputs.length !== 1 || ctx.layer.outputs.length !== 1) {
    throw ctx.p.bad(`expected 1 input and 1 output, got ${ctx.inputs.length} and ${ctx.layer.outputs.length}`);
  }
  return ctx.inputs[0]!;
}

/** Checks (or learns) the channel count of input `index`. */
export function requireChannels(ctx: LayerContext, blob: Blob, channels: number, what: string): void {
  if (blob.rank !== 3) throw ctx.unsupported(`works on 3-D (c, h, w) blobs here; its input has ${blob.rank} dimensions`);
  if (blob.channels === undefined) blob.channels = channels;
  else if (blob.channels !== channels) {
    throw ctx.p.bad(`${what} needs ${channels} input channels, but its input has ${blob.channels}`, { expected: channels, actual: blob.channels });
  }
}

/** Output `index` as the same kind of blob as `like`, in a new ONNX value. */
export function sameAs(ctx: LayerContext, like: Blob, onnx: string, index = 0): Blob {
  const blob: Blob = { onnx, rank: like.rank, ...(like.channels === undefined ? {} : { channels: like.channels }), ...(like.spatial ? { spatial: like.spatial } : {}), ...(like.shape ? { shape: like.shape } : {}) };
  ctx.define(index, blob);
  return blob;
}
