import type { AbortSignalLike } from './signal.js';
/** upscalers run through `upscale()`; the face kinds make up face enhancement (restorer, detector, parser). */
export type ModelKind = 'upscaler' | 'face-restorer' | 'face-detector' | 'face-parser';

/** Where a model's weights come from. */
export interface WeightSource {
  url: string;
  /** Lower-case hex sha256 of the file; absent where none is published. */
  sha256?: string;
  bytes?: number;
  license?: string;
}

/** The facts the pipeline needs about a model's geometry. */
export interface ModelGeometry {
  /** Native upscale factor of the network. */
  readonly scale: number;
  /** Input height and width are padded (reflect) to a multiple of this before inference. */
  readonly alignment: number;
  /** Smallest tile pad (input pixels) that makes tiled inference equal to whole-image inference. */
  readonly receptiveRadius: number;
  /**
   * Bytes the runtime holds per input pixel of a tile while it runs it (live activations and the
   * output), estimated from the graph; sizes automatic tiles. Unknown (foreign graphs): the
   * pipeline assumes DEFAULT_WORKING_BYTES_PER_PIXEL.
   */
  readonly workingBytesPerPixel?: number;
  /**
   * Tiles and tile pads are multiples of this (default 1): a window-attention network (SwinIR's
   * window) gives the same result in a tile as in the whole image only when the tile keeps the
   * image's window grid.
   */
  readonly tileMultiple?: number;
}

export interface OnnxBuildOptions {
  signal?: AbortSignalLike;
}

/**
 * A model as a declarative object. Users register their own: implement `toOnnx` to turn the
 * weights' bytes into an ONNX graph (return them unchanged for a model that already is ONNX).
 */
export interface ModelPlugin extends ModelGeometry {
  readonly id: string;
  readonly kind: ModelKind;
  readonly description?: string;
  readonly weights?: WeightSource;
  toOnnx(weights: Uint8Array, options?: OnnxBuildOptions): Promise<Uint8Array>;
}
