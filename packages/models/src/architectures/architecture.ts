/**
 * What an architecture module declares: how a state dict of it is recognised, its hyperparameters
 * and geometry, what one output pixel costs, and how its ONNX graph is built. The built-in ones
 * (builtin.ts) and a user's own go through the same registry (registry.ts).
 */
import type { ModelKind } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import type { RrdbOverrides } from './rrdbnet.js';
import type { SrvggOverrides } from './srvgg.js';

export interface ArchitectureGeometry {
  scale: number;
  alignment: number;
  receptiveRadius: number;
  /** Runtime memory per input pixel of a tile (see working-memory.ts). */
  workingBytesPerPixel: number;
  /** Tiles and tile pads are multiples of this (a window-attention network's window); default 1. */
  tileMultiple?: number;
}

/** Options for any architecture; each reads the ones that apply to it. */
export type ArchitectureOverrides = SrvggOverrides & RrdbOverrides & Record<string, unknown>;

export interface Architecture<H extends object = object> {
  /** Unique, shown to users (`superres models inspect`, errors). */
  readonly name: string;
  /** What the network does: only upscalers go through `upscale()`. */
  readonly kind: ModelKind;
  /**
   * Architectures this one must be tried before: its pattern is more specific than theirs over
   * tensor names they share. Without it, registration order decides (built-ins first).
   */
  readonly before?: readonly string[];
  /**
   * Tensor-name patterns (over the normalised names) a checkpoint of this architecture has. Only
   * used to rank the closest candidates when nothing matches, and to say which tensors did not fit.
   */
  readonly signature: readonly RegExp[];
  /**
   * The hyperparameters when the state dict is this architecture; undefined when it is not.
   * Throws BadCheckpointError naming the tensor when the names say it is this architecture but
   * a shape is wrong.
   */
  detect(stateDict: StateDict, overrides: ArchitectureOverrides): H | undefined;
  geometry(hyperparameters: H): ArchitectureGeometry;
  /** Multiply-accumulates per output pixel (undefined where it is not per pixel, e.g. a face network). */
  macsPerOutputPixel?(hyperparameters: H): number;
  /** The ONNX graph (input `input`, NCHW float32, values 0..1; output NCHW at `scale`). */
  build(stateDict: StateDict, hyperparameters: H, overrides: ArchitectureOverrides): Uint8Array;
}

/** What a state dict is, without building its graph (cheap: reads shapes only). */
export interface DetectedArchitecture {
  architecture: string;
  kind: ModelKind;
  hyperparameters: Record<string, unknown>;
  geometry: ArchitectureGeometry;
  /** Multiply-accumulates per output pixel, where the architecture says. */
  macsPerOutputPixel?: number;
  /** A wrapper prefix removed from every tensor name before detection (`module.`, `netG.`, ...). */
  strippedPrefix?: string;
}

export interface BuiltGraph extends DetectedArchitecture {
  onnx: Uint8Array;
}
