import { InvalidOptionError } from './errors.js';
import type { FaceModels } from './face-enhance.js';
import type { UpscaleProgress } from './progress.js';
import type { AbortSignalLike } from './signal.js';
import { DEFAULT_MAX_MEMORY } from './tile-policy.js';

export interface UpscaleOptions {
  /**
   * Tile edge in input pixels: 'auto' (default) picks the largest tile whose memory fits
   * `maxMemory` (the whole image when it fits); 0 runs the whole image at once.
   */
  tile?: number | 'auto';
  /**
   * Context added around each tile: 'auto' (default) is the model's receptive radius (exact
   * tiles) capped at MAX_AUTO_TILE_PAD; a number >= model.receptiveRadius makes tiling exact.
   */
  tilePad?: number | 'auto';
  /** Reflect padding on the right and bottom before inference (default 0). */
  prePad?: number;
  /** Final scale factor (default model.scale); other values are Lanczos-resampled. */
  outscale?: number;
  /**
   * Alpha through the model ('model', default) or bilinear-resized ('resize'). Either way, an
   * image whose alpha is the maximum everywhere (fully opaque) keeps it at the maximum, and the
   * model runs once per tile, not twice.
   */
  alpha?: 'model' | 'resize';
  /** Memory budget in bytes for automatic tiles (output image excluded); default DEFAULT_MAX_MEMORY. */
  maxMemory?: number;
  /**
   * Restore faces in the upscaled image (Real-ESRGAN's --face_enhance): found on the input,
   * restored, pasted back over the output. Absent: no face enhancement.
   */
  faceEnhance?: FaceEnhanceOption;
  signal?: AbortSignalLike;
  onProgress?: (progress: UpscaleProgress) => void;
}

export interface FaceEnhanceOption {
  models: FaceModels;
  /** Only the face nearest the centre (GFPGANer's only_center_face); default false. */
  onlyCenterFace?: boolean;
}

export interface ResolvedUpscaleOptions {
  tile: number | 'auto';
  tilePad: number | 'auto';
  prePad: number;
  outscale: number;
  alpha: 'model' | 'resize';
  maxMemory: number;
  faceEnhance: FaceEnhanceOption | undefined;
  signal: AbortSignalLike | undefined;
  onProgress: ((progress: UpscaleProgress) => void) | undefined;
}

const isSignal = (v: unknown): v is AbortSignalLike =>
  typeof v === 'object' && v !== null && typeof (v as { aborted?: unknown }).aborted === 'boolean';
const isFaceEnhance = (v: unknown): boolean => {
  const models = (v as { models?: Partial<FaceModels> } | null)?.models;
  const center = (v as { onlyCenterFace?: unknown }).onlyCenterFace;
  return (
    typeof models === 'object' &&
    models !== null &&
    typeof models.detect === 'function' &&
    typeof models.restore === 'function' &&
    (models.parse === undefined || typeof models.parse === 'function') &&
    (center === undefined || typeof center === 'boolean')
  );
};
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Each option's check and what it expects. Written out rather than a schema library: core is
 * imported by every command and page, and zod alone took 100 ms to import.
 */
const CHECKS: { [K in keyof UpscaleOptions]-?: [check: (v: unknown) => boolean, expected: string] } = {
  tile: [(v) => v === 'auto' || isCount(v), "'auto' or an integer >= 0 (0 = no tiling)"],
  tilePad: [(v) => v === 'auto' || isCount(v), "'auto' or an integer >= 0"],
  prePad: [isCount, 'an integer >= 0'],
  outscale: [(v) => typeof v === 'number' && Number.isFinite(v) && v > 0, 'a finite number > 0'],
  alpha: [(v) => v === 'model' || v === 'resize', "'model' or 'resize'"],
  maxMemory: [(v) => isCount(v) && (v as number) > 0, 'a number of bytes (an integer > 0)'],
  faceEnhance: [isFaceEnhance, '{ models: FaceModels (detect, restore, optional parse), onlyCenterFace?: boolean }'],
  signal: [isSignal, 'an AbortSignal'],
  onProgress: [(v) => typeof v === 'function', 'a function'],
};

/** Validates `upscale()` options and fills in defaults; InvalidOptionError names the bad option. */
export function resolveUpscaleOptions(options: unknown, modelScale: number): ResolvedUpscaleOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    throw new InvalidOptionError(`upscale options: expected an object, received ${describe(options)}`, {
      details: { option: 'options' },
    });
  }
  const o = (options ?? {}) as UpscaleOptions;
  for (const key of Object.keys(CHECKS) as Array<keyof UpscaleOptions>) {
    const value = (o as Record<string, unknown>)[key];
    const [check, expected] = CHECKS[key];
    if (value !== undefined && !check(value)) {
      throw new InvalidOptionError(`Invalid upscale option "${key}": expected ${expected}, received ${describe(value)}`, {
        details: { option: key, received: value },
      });
    }
  }
  return {
    tile: o.tile ?? 'auto',
    tilePad: o.tilePad ?? 'auto',
    prePad: o.prePad ?? 0,
    outscale: o.outscale ?? modelScale,
    alpha: o.alpha ?? 'model',
    maxMemory: o.maxMemory ?? DEFAULT_MAX_MEMORY,
    faceEnhance: o.faceEnhance,
    signal: o.signal,
    onProgress: o.onProgress,
  };
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'function' ? 'a function' : `a value of type ${typeof value}`;
}
