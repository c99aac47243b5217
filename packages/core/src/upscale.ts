import { hasOpaqueAlpha } from './alpha.js';
import { AbortedError, BackendError, ImageTooLargeError, InvalidOptionError, isSuperresError, throwIfAborted } from './errors.js';
import type { Image, Tensor } from './image.js';
import { hasAlpha, imageBytes, MAX_IMAGE_BYTES, validateImage } from './image.js';
import type { LoadedModel } from './model.js';
import { createOutputAssembly, type BandRows } from './output-assembly.js';
import { alignUp, reflectPadMap } from './padding.js';
import { ProgressMeter } from './progress.js';
import { createSlicer, type Slicer } from './schedule.js';
import type { AbortSignalLike } from './signal.js';
import { linkedAbortController } from './signal.js';
import { stitchHeight, stitchTile, type StitchTarget } from './stitch.js';
import type { ChannelMap } from './tensor.js';
import { allocateTile, alphaChannels, colorChannels, extractTileRows } from './tensor.js';
import { autoTilePad, autoTileSize } from './tile-policy.js';
import type { TilePlan } from './tiling.js';
import { planTiles } from './tiling.js';
import { describe, resolveUpscaleOptions, type ResolvedUpscaleOptions, type UpscaleOptions } from './upscale-options.js';

export { resolveUpscaleOptions, type ResolvedUpscaleOptions, type UpscaleOptions, type FaceEnhanceOption } from './upscale-options.js';
export type { UpscaleProgress, TileProgress, FaceProgress } from './progress.js';

/** Values copied (extract) or quantised (stitch) between two chances for the event loop to run. */
const VALUES_PER_SLICE_CHECK = 1 << 14;

/** Final size for `outscale`: floor(size * outscale), with a nudge for float error, at least 1. */
export function outputSize(width: number, height: number, outscale: number): { width: number; height: number } {
  return {
    width: Math.max(1, Math.floor(width * outscale + 1e-9)),
    height: Math.max(1, Math.floor(height * outscale + 1e-9)),
  };
}

/** What 'auto' became for one image and model: the tile plan `upscale()` runs. */
export interface TileSettings {
  /** Tile edge in (aligned) input pixels; 0 = the whole image as one tile. */
  tile: number;
  tilePad: number;
}

/** Resolves 'auto' tile and pad for this image and model, rounded up to the model's alignment. */
export function tileSettings(image: Image, model: LoadedModel, options: UpscaleOptions = {}): TileSettings {
  validateImage(image);
  checkModel(model);
  const opts = resolveUpscaleOptions(options, model.scale);
  return resolveTiles(image, model, opts).settings;
}

interface Pass {
  channels: ChannelMap;
  target: StitchTarget;
}

interface WorkItem {
  plan: TilePlan;
  pass: Pass;
  band: BandRows;
  /** The band's last tile: once stitched, the band is complete. */
  closesBand: boolean;
}

/**
 * Real-ESRGAN's `RealESRGANer.enhance` as a streaming pipeline: pre-pad and alignment pad by
 * reflection (coordinates only), tiles sized to a memory budget, each tile's crop quantised
 * straight into the output (or, at a scale other than the model's, into a band of rows that is
 * Lanczos-resampled as soon as it is complete), alpha through the model or resized, or, when
 * every alpha sample is the maximum, left at the maximum without a pass of the model.
 *
 * Pipelined: while the backend runs one tile, the next is extracted and the previous stitched;
 * a backend that runs several at once (`model.parallelism`) gets that many. Work on the caller's
 * thread is cut in slices that yield to the event loop. Cancellation through `signal` answers at
 * once: the tile a backend is running finishes there, unused.
 */
export async function upscale(image: Image, model: LoadedModel, options?: UpscaleOptions): Promise<Image> {
  validateImage(image);
  checkModel(model);
  const opts = resolveUpscaleOptions(options, model.scale);
  throwIfAborted(opts.signal);
  const { scale } = model;
  const size = outputSize(image.width, image.height, opts.outscale);
  const native = { width: image.width * scale, height: image.height * scale };
  refuseTooLarge(image, size);

  const { settings, mapX, mapY } = resolveTiles(image, model, opts);
  const plans = planTiles({ width: mapX.length, height: mapY.length, tile: settings.tile, tilePad: settings.tilePad, scale });
  const slicer = createSlicer();
  // Alpha that is the maximum everywhere (an opaque canvas, a PNG saved with an unused alpha
  // channel) stays the maximum: no second pass of the model, whose output at the borders could
  // dip below it (alpha 254 at the edges of an opaque image).
  const alpha = !hasAlpha(image.channels) ? undefined : (await isOpaque(image, slicer)) ? 'opaque' : opts.alpha;
  throwIfAborted(opts.signal);
  const passes: Pass[] = [{ channels: colorChannels(image.channels), target: image.channels <= 2 ? 'gray' : 'rgb' }];
  if (alpha === 'model') passes.push({ channels: alphaChannels(image.channels), target: 'alpha' });
  const items = workItems(plans, passes, native.height);
  const maxBandHeight = items.reduce((most, i) => Math.max(most, i.band.height), 0);
  if (size.width !== native.width || size.height !== native.height) {
    refuseTooLarge(image, { width: native.width, height: maxBandHeight }, 'a band of');
  }
  const assembly = createOutputAssembly({
    source: image,
    nativeWidth: native.width,
    nativeHeight: native.height,
    width: size.width,
    height: size.height,
    maxBandHeight,
    alpha: alpha === 'resize' || alpha === 'opaque' ? alpha : 'stitched',
  });

  // Tiles of the passes that run: an opaque image's progress counts its colour tiles only.
  const meter = new ProgressMeter(items.length, items.reduce((sum, i) => sum + i.plan.input.width * i.plan.input.height, 0));
  const link = linkedAbortController(opts.signal);
  const runSignal = link?.controller.signal ?? opts.signal;
  const depth = Math.max(1, model.parallelism ?? 1) + 1;
  const inFlight: Array<Promise<Tensor>> = [];
  let next = 0;
  try {
    for (let done = 0; done < items.length; done++) {
      // Keep the backend fed: tiles are prepared while earlier ones run.
      while (next < items.length && inFlight.length < depth) {
        throwIfAborted(opts.signal);
        const item = items[next++]!;
        const input = await extract(image, item, mapX, mapY, slicer);
        const running = runTile(model, input, item.plan, runSignal, opts.signal);
        running.catch(() => undefined); // awaited below, in order; a failure ends the job then
        inFlight.push(running);
      }
      const item = items[done]!;
      const output = await inFlight.shift()!;
      throwIfAborted(opts.signal);
      await stitch(assembly.target(item.band), output, item, slicer);
      if (item.closesBand) await assembly.bandDone(item.band, slicer);
      opts.onProgress?.(meter.tileDone(item.plan.input.width * item.plan.input.height));
    }
  } catch (error) {
    // Tiles queued behind a failure (or a cancellation) are dropped from the backend's queue.
    link?.controller.abort(error);
    throw error;
  } finally {
    link?.unlink();
  }
  throwIfAborted(opts.signal);
  if (!opts.faceEnhance) return assembly.output;
  const { models, onlyCenterFace } = opts.faceEnhance;
  // Loaded when asked for: a page that only upscales does not ship the face code.
  const { enhanceFaces } = await import('./face-enhance.js');
  return enhanceFaces(image, assembly.output, models, {
    upscale: opts.outscale,
    onlyCenterFace: onlyCenterFace ?? false,
    signal: opts.signal,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}

function resolveTiles(image: Image, model: LoadedModel, opts: ResolvedUpscaleOptions) {
  const { scale, alignment } = model;
  const mapX = reflectPadMap(image.width, opts.prePad, alignment);
  const mapY = reflectPadMap(image.height, opts.prePad, alignment);
  // Tiles and pads are rounded up to the alignment so every tile the model sees is aligned
  // (the reference only works when they already are; then this changes nothing), and to the
  // model's tile multiple so tiles keep its window grid.
  const grid = leastCommonMultiple(alignment, model.tileMultiple ?? 1);
  const tilePad = alignUp(opts.tilePad === 'auto' ? autoTilePad(model.receptiveRadius) : opts.tilePad, grid);
  const size = outputSize(image.width, image.height, opts.outscale);
  const banded = size.width !== image.width * scale || size.height !== image.height * scale;
  const tile =
    opts.tile === 'auto'
      ? autoTileSize({
          width: mapX.length,
          height: mapY.length,
          tilePad,
          scale,
          alignment: grid,
          channels: image.channels,
          bytesPerSample: image.bitDepth / 8,
          workingBytesPerPixel: model.workingBytesPerPixel,
          parallelism: model.parallelism,
          banded,
          maxMemory: opts.maxMemory,
        })
      : opts.tile === 0
        ? 0
        : alignUp(opts.tile, grid);
  return { settings: { tile, tilePad }, mapX, mapY };
}

function leastCommonMultiple(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** hasOpaqueAlpha, a slice of rows at a time: the scan of a large image yields to the event loop. */
async function isOpaque(image: Image, slicer: Slicer): Promise<boolean> {
  const rowsPerSlice = Math.max(1, Math.floor((4 * VALUES_PER_SLICE_CHECK) / image.width));
  for (let y = 0; y < image.height; y += rowsPerSlice) {
    if (!hasOpaqueAlpha(image, { from: y, to: y + rowsPerSlice })) return false;
    await slicer.pause();
  }
  return true;
}

/** Tiles band by band (a row of tiles), every pass of a band before the next band. */
function workItems(plans: TilePlan[], passes: Pass[], nativeHeight: number): WorkItem[] {
  const items: WorkItem[] = [];
  const rows = new Map<number, TilePlan[]>();
  for (const plan of plans) {
    const row = rows.get(plan.row);
    if (row) row.push(plan);
    else rows.set(plan.row, [plan]);
  }
  for (const row of rows.values()) {
    const first = row[0]!;
    const band = { y: first.output.y, height: Math.max(0, Math.min(first.output.height, nativeHeight - first.output.y)) };
    const start = items.length;
    for (const pass of passes) for (const plan of row) items.push({ plan, pass, band, closesBand: false });
    items[items.length - 1]!.closesBand = true;
    if (band.height === 0) for (let i = start; i < items.length; i++) items[i]!.closesBand = false;
  }
  return items;
}

async function extract(image: Image, item: WorkItem, mapX: Int32Array, mapY: Int32Array, slicer: Slicer): Promise<Tensor> {
  const rect = item.plan.input;
  const tensor = allocateTile(rect, mapX, mapY);
  const rowsPerSlice = Math.max(1, Math.floor(VALUES_PER_SLICE_CHECK / rect.width));
  for (let y = 0; y < rect.height; y += rowsPerSlice) {
    extractTileRows(image, rect, mapX, mapY, item.pass.channels, tensor.data, y, Math.min(y + rowsPerSlice, rect.height));
    await slicer.pause();
  }
  return tensor;
}

async function stitch(target: { image: Image; originY: number }, output: Tensor, item: WorkItem, slicer: Slicer): Promise<void> {
  const { plan } = item;
  const rows = stitchHeight(target.image, plan, target.originY);
  const rowsPerSlice = Math.max(1, Math.floor(VALUES_PER_SLICE_CHECK / plan.output.width));
  for (let from = 0; from < rows; from += rowsPerSlice) {
    stitchTile(target.image, output, plan, item.pass.target, { originY: target.originY, from, to: Math.min(from + rowsPerSlice, rows) });
    await slicer.pause();
  }
}

/** Refuses, before any inference, what could not be allocated. */
function refuseTooLarge(image: Image, size: { width: number; height: number }, what = 'a'): void {
  if (imageBytes(size.width, size.height, image.channels, image.bitDepth) > MAX_IMAGE_BYTES) {
    throw new ImageTooLargeError(
      `Upscaling ${image.width}x${image.height} needs ${what} ${size.width}x${size.height} image, over the ${MAX_IMAGE_BYTES}-byte limit`,
      { details: { width: size.width, height: size.height } },
    );
  }
}

function checkModel(model: LoadedModel): void {
  for (const key of ['scale', 'alignment'] as const) {
    const value = model?.[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidOptionError(`Model ${key} must be an integer >= 1, received ${describe(value)}`, {
        details: { option: `model.${key}` },
      });
    }
  }
  const multiple = model.tileMultiple;
  if (multiple !== undefined && (!Number.isSafeInteger(multiple) || multiple < 1)) {
    throw new InvalidOptionError(`Model tileMultiple must be an integer >= 1, received ${describe(multiple)}`, {
      details: { option: 'model.tileMultiple' },
    });
  }
  if (typeof model.run !== 'function') {
    throw new InvalidOptionError('Model must have a run(tensor) function', { details: { option: 'model.run' } });
  }
}

async function runTile(
  model: LoadedModel,
  input: Tensor,
  plan: TilePlan,
  runSignal: AbortSignalLike | undefined,
  userSignal: AbortSignalLike | undefined,
): Promise<Tensor> {
  const { width, height } = plan.input;
  let output: Tensor;
  try {
    // The tile's buffer is ours alone: the backend may move it to a worker without a copy.
    output = await model.run(input, { signal: runSignal, transfer: true });
  } catch (error) {
    if (userSignal?.aborted) throw new AbortedError(undefined, { cause: userSignal.reason });
    if (isSuperresError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new BackendError(`Model "${model.id}" failed on tile ${plan.index + 1} (${width}x${height}): ${message}`, {
      cause: error,
    });
  }
  const want = [1, 3, height * model.scale, width * model.scale];
  const dims = output?.dims;
  const ok =
    Array.isArray(dims) &&
    dims.length === 4 &&
    want.every((d, i) => dims[i] === d) &&
    output.data instanceof Float32Array &&
    output.data.length === 3 * want[2]! * want[3]!;
  if (!ok) {
    throw new BackendError(
      `Model "${model.id}" returned a tensor of dims [${Array.isArray(dims) ? dims.join(', ') : String(dims)}] ` +
        `for a [1, 3, ${height}, ${width}] tile; expected [${want.join(', ')}] (scale ${model.scale}, float32)`,
      { details: { dims, expected: want } },
    );
  }
  return output;
}
