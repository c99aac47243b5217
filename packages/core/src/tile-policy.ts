/**
 * How big tiles are and how much context they get when the caller says 'auto': one policy for
 * every host (CLI, server, browser).
 *
 * Tile pad: the model's receptive radius makes tiles exact (equal to the whole image), but
 * RRDBNet's radius is 349 input pixels: a 256 px tile would compute 10x its own area. The pad is
 * capped at MAX_AUTO_TILE_PAD, where the seams of a capped pad measured below 1/255 on average
 * (see BENCHMARKS.md, "seam error of the capped pad").
 *
 * Tile size: the largest tile whose memory fits the budget: the runtime's working memory for each
 * tile running at once (the model's workingBytesPerPixel), plus the input and output tensors of
 * the tiles in flight, plus the band of output rows held for resampling. The whole image when it
 * fits: one tile has no overlap to recompute.
 */
import { alignUp } from './padding.js';

/** Budget for one upscale's working memory, output image excluded. */
export const DEFAULT_MAX_MEMORY = 128 * 1024 * 1024;
/** Largest tile pad 'auto' takes from a model's receptive radius. */
export const MAX_AUTO_TILE_PAD = 32;
/** Tile pad for models whose receptive radius is unknown (foreign ONNX): the reference's default. */
export const DEFAULT_TILE_PAD = 10;
/** Working memory assumed for graphs that do not state theirs: a 64-feature network at x4 with margin. */
export const DEFAULT_WORKING_BYTES_PER_PIXEL = 2048;
/** Smallest automatic tile (input pixels): below it, the pad's overlap costs more than the tile. */
export const MIN_AUTO_TILE = 64;
/**
 * What a running tile costs beyond its activations, whatever its size: the runtime's allocator
 * keeps its chunks, and tensors already handed back wait for the garbage collector. With it, a
 * 1000x750 x4 job in a warmed-up process peaked 50-75 MiB over its start at a 96 MiB budget and
 * 60-67 MiB at 128 MiB (onnxruntime-node 1.30; BENCHMARKS.md). Not counted: the one-time 40-60
 * MiB ONNX Runtime takes at a process's first full-size tiles.
 */
export const RUNTIME_FIXED_BYTES = 16 * 1024 * 1024;

const FLOAT_BYTES = 4;

export function autoTilePad(receptiveRadius: number): number {
  return receptiveRadius > 0 ? Math.min(receptiveRadius, MAX_AUTO_TILE_PAD) : DEFAULT_TILE_PAD;
}

export interface TileBudgetInput {
  /** The padded input (pre-pad and alignment included). */
  width: number;
  height: number;
  tilePad: number;
  scale: number;
  alignment: number;
  /** Channels and bytes per sample of the image being assembled (the band held for resampling). */
  channels: number;
  bytesPerSample: number;
  workingBytesPerPixel?: number;
  /** Tiles the backend runs at once. */
  parallelism?: number;
  /** Whether output rows are held as a band for resampling (outscale differs from the model's scale). */
  banded: boolean;
  maxMemory: number;
}

/** Bytes one upscale holds for tiles of `tile` input pixels (0: the whole image). */
export function tileMemory(input: TileBudgetInput, tile: number): number {
  const { width, height, tilePad, scale } = input;
  const core = { w: tile === 0 ? width : Math.min(tile, width), h: tile === 0 ? height : Math.min(tile, height) };
  const inW = Math.min(core.w + 2 * tilePad, width);
  const inH = Math.min(core.h + 2 * tilePad, height);
  const pixels = inW * inH;
  const running = Math.max(1, input.parallelism ?? 1);
  // One more tile in flight than can run: it is prepared while the others run.
  const inFlight = running + 1;
  const tensors = FLOAT_BYTES * 3 * (1 + scale * scale) * pixels;
  const working = (input.workingBytesPerPixel ?? DEFAULT_WORKING_BYTES_PER_PIXEL) * pixels;
  const band = input.banded ? width * scale * core.h * scale * input.channels * input.bytesPerSample : 0;
  return running * (working + RUNTIME_FIXED_BYTES) + inFlight * tensors + band;
}

/** The tile 'auto' picks: 0 (whole image) when it fits the budget, else the largest aligned tile that does. */
export function autoTileSize(input: TileBudgetInput): number {
  if (tileMemory(input, 0) <= input.maxMemory) return 0;
  const step = Math.max(1, input.alignment);
  let tile = alignUp(MIN_AUTO_TILE, step);
  // Memory grows with the tile: walk up in aligned steps while the next one still fits.
  const largest = Math.max(input.width, input.height);
  while (tile + step < largest && tileMemory(input, tile + step) <= input.maxMemory) tile += step;
  return tile;
}
