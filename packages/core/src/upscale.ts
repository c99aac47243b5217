import { z } from 'zod';
import { resizeAlphaInto } from './alpha.js';
import {
  AbortedError,
  BackendError,
  ImageTooLargeError,
  InvalidOptionError,
  isSuperresError,
  throwIfAborted,
} from './errors.js';
import type { Image, Tensor } from './image.js';
import { createImage, hasAlpha, imageBytes, MAX_IMAGE_BYTES, validateImage } from './image.js';
import type { LoadedModel } from './model.js';
import { alignUp, reflectPadMap } from './padding.js';
import { resampleLanczos } from './resample.js';
import type { AbortSignalLike } from './signal.js';
import type { StitchTarget } from './stitch.js';
import { stitchTile } from './stitch.js';
import type { ChannelMap } from './tensor.js';
import { alphaChannels, colorChannels, extractTile } from './tensor.js';
import type { TilePlan } from './tiling.js';
import { planTiles } from './tiling.js';

export interface UpscaleProgress {
  tilesDone: number;
  tilesTotal: number;
  stage: 'inference' | 'resample';
}

export interface UpscaleOptions {
  /** Tile edge in input pixels; 0 (default) runs the whole image at once. */
  tile?: number;
  /** Context added around each tile (default 10); >= model.receptiveRadius makes tiling exact. */
  tilePad?: number;
  /** Reflect padding on the right and bottom before inference (default 0). */
  prePad?: number;
  /** Final scale factor (default model.scale); other values are Lanczos-resampled. */
  outscale?: number;
  /** Alpha through the model ('model', default) or bilinear-resized ('resize'). */
  alpha?: 'model' | 'resize';
  signal?: AbortSignalLike;
  onProgress?: (progress: UpscaleProgress) => void;
}

export interface ResolvedUpscaleOptions {
  tile: number;
  tilePad: number;
  prePad: number;
  outscale: number;
  alpha: 'model' | 'resize';
  signal: AbortSignalLike | undefined;
  onProgress: ((progress: UpscaleProgress) => void) | undefined;
}

const isSignal = (v: unknown): v is AbortSignalLike =>
  typeof v === 'object' && v !== null && typeof (v as { aborted?: unknown }).aborted === 'boolean';

const nonNegativeInt = z.number().int().min(0);
const optionsSchema = z.object({
  tile: nonNegativeInt.optional(),
  tilePad: nonNegativeInt.optional(),
  prePad: nonNegativeInt.optional(),
  outscale: z.number().positive().optional(),
  alpha: z.enum(['model', 'resize']).optional(),
  signal: z.custom<AbortSignalLike>(isSignal).optional(),
  onProgress: z.custom<(progress: UpscaleProgress) => void>((v) => typeof v === 'function').optional(),
});

const expected: Record<keyof UpscaleOptions, string> = {
  tile: 'an integer >= 0 (0 = no tiling)',
  tilePad: 'an integer >= 0',
  prePad: 'an integer >= 0',
  outscale: 'a finite number > 0',
  alpha: "'model' or 'resize'",
  signal: 'an AbortSignal',
  onProgress: 'a function',
};

/** Validates `upscale()` options and fills in defaults; InvalidOptionError names the bad option. */
export function resolveUpscaleOptions(options: unknown, modelScale: number): ResolvedUpscaleOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new InvalidOptionError(`upscale options: expected an object, received ${describe(options)}`, {
      details: { option: 'options' },
    });
  }
  const result = optionsSchema.safeParse(options ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = String(issue?.path[0] ?? 'options') as keyof UpscaleOptions;
    const received = (options as Record<string, unknown>)[key];
    throw new InvalidOptionError(
      `Invalid upscale option "${key}": expected ${expected[key] ?? 'a valid value'}, received ${describe(received)}`,
      { details: { option: key, received: received as unknown }, cause: result.error },
    );
  }
  const o = result.data;
  return {
    tile: o.tile ?? 0,
    tilePad: o.tilePad ?? 10,
    prePad: o.prePad ?? 0,
    outscale: o.outscale ?? modelScale,
    alpha: o.alpha ?? 'model',
    signal: o.signal,
    onProgress: o.onProgress,
  };
}

/** Final size for `outscale`: floor(size * outscale), with a nudge for float error, at least 1. */
export function outputSize(width: number, height: number, outscale: number): { width: number; height: number } {
  return {
    width: Math.max(1, Math.floor(width * outscale + 1e-9)),
    height: Math.max(1, Math.floor(height * outscale + 1e-9)),
  };
}

interface Pass {
  channels: ChannelMap;
  target: StitchTarget;
}

/**
 * Real-ESRGAN's `RealESRGANer.enhance` as a streaming pipeline: pre-pad and alignment pad by
 * reflection (coordinates only), tiles run one after another, each tile's crop quantised
 * straight into an output image of the input's channels and bit depth, alpha through the model
 * or resized, then an optional Lanczos resample to `outscale`.
 */
export async function upscale(image: Image, model: LoadedModel, options?: UpscaleOptions): Promise<Image> {
  validateImage(image);
  checkModel(model);
  const opts = resolveUpscaleOptions(options, model.scale);
  const { signal, onProgress } = opts;
  throwIfAborted(signal);

  const { scale, alignment } = model;
  // Refuse before any inference what could not be allocated at the end.
  const size = outputSize(image.width, image.height, opts.outscale);
  for (const [w, h] of [[image.width * scale, image.height * scale], [size.width, size.height]] as const) {
    if (imageBytes(w, h, image.channels, image.bitDepth) > MAX_IMAGE_BYTES) {
      throw new ImageTooLargeError(
        `Upscaling ${image.width}x${image.height} needs a ${w}x${h} image, over the ${MAX_IMAGE_BYTES}-byte limit`,
        { details: { width: w, height: h } },
      );
    }
  }
  const mapX = reflectPadMap(image.width, opts.prePad, alignment);
  const mapY = reflectPadMap(image.height, opts.prePad, alignment);
  // Tiles and pads are rounded up to the alignment so every tile the model sees is aligned
  // (the reference only works when they already are; then this changes nothing).
  const plans = planTiles({
    width: mapX.length,
    height: mapY.length,
    tile: opts.tile === 0 ? 0 : alignUp(opts.tile, alignment),
    tilePad: alignUp(opts.tilePad, alignment),
    scale,
  });

  const native = createImage(image.width * scale, image.height * scale, image.channels, image.bitDepth);
  const alphaByModel = hasAlpha(image.channels) && opts.alpha === 'model';
  const passes: Pass[] = [{ channels: colorChannels(image.channels), target: image.channels <= 2 ? 'gray' : 'rgb' }];
  if (alphaByModel) passes.push({ channels: alphaChannels(image.channels), target: 'alpha' });

  const tilesTotal = plans.length * passes.length;
  let tilesDone = 0;
  for (const pass of passes) {
    for (const plan of plans) {
      throwIfAborted(signal);
      const input = extractTile(image, plan.input, mapX, mapY, pass.channels);
      const output = await runTile(model, input, plan, signal);
      stitchTile(native, output, plan, pass.target);
      tilesDone++;
      onProgress?.({ tilesDone, tilesTotal, stage: 'inference' });
    }
  }
  throwIfAborted(signal);
  if (hasAlpha(image.channels) && !alphaByModel) resizeAlphaInto(image, native);

  if (size.width === native.width && size.height === native.height) return native;
  onProgress?.({ tilesDone, tilesTotal, stage: 'resample' });
  return resampleLanczos(native, size.width, size.height);
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
  if (typeof model.run !== 'function') {
    throw new InvalidOptionError('Model must have a run(tensor) function', { details: { option: 'model.run' } });
  }
}

async function runTile(model: LoadedModel, input: Tensor, plan: TilePlan, signal?: AbortSignalLike): Promise<Tensor> {
  const { width, height } = plan.input;
  let output: Tensor;
  try {
    output = await model.run(input, { signal });
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'function' ? 'a function' : `a value of type ${typeof value}`;
}
