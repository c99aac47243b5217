import { InvalidOptionError, parseByteSize } from '@superres/core';
import { DEFAULT_FACE_MODELS, DEFAULT_MODEL_ID } from '@superres/models';

// Commander hands us strings; these turn them into typed, checked values and name the flag in
// every message. Written out rather than with a schema library: zod alone took 100 ms to import,
// a tenth of a small upscale's whole run.

export type Device = 'cpu' | 'cuda' | 'webgpu' | 'auto';

export interface UpscaleFlags {
  output: string;
  /** A catalog id, an imported id or a file path. */
  model: string;
  /** `--model a,b,c`: every model, in order (`model` is the first). */
  models: string[];
  recursive: boolean;
  ext: 'auto' | 'png' | 'jpg' | 'webp' | 'avif';
  suffix: string;
  overwrite: boolean;
  json: boolean;
  /** Write no metadata (EXIF, ICC, XMP). */
  strip: boolean;
  /** PNG zlib level 0..9. */
  compression?: number;
  denoise?: number;
  modelsDir?: string;
  scale?: number;
  tile: number | 'auto';
  tilePad: number | 'auto';
  maxMemory?: number;
  prePad: number;
  alpha: 'model' | 'resize';
  device: Device;
  threads?: number;
  quality: number;
  maxPixels?: number;
  quiet: boolean;
  /** Face enhancement, when --face-enhance is given. */
  faces?: FaceFlags;
}

export interface FaceFlags {
  /** Each a catalog or imported id, or a checkpoint file; parser undefined: the plain mask (`none`). */
  restorer: string;
  detector: string;
  parser?: string;
  onlyCenterFace: boolean;
}

const FACE_FLAGS = [
  ['faceModel', '--face-model'],
  ['faceDetector', '--face-detector'],
  ['faceParser', '--face-parser'],
  ['onlyCenterFace', '--only-center-face'],
] as const;

/** The --face-* flags; each of them needs --face-enhance (a face model that silently does nothing would mislead). */
export function parseFaceFlags(raw: Record<string, unknown>): FaceFlags | undefined {
  if (raw.faceEnhance !== true) {
    const stray = FACE_FLAGS.find(([key]) => raw[key] !== undefined && raw[key] !== false);
    if (stray) fail(`${stray[1]} needs --face-enhance`, stray[1], undefined);
    return undefined;
  }
  const parser = raw.faceParser === undefined ? DEFAULT_FACE_MODELS.parser : text('--face-parser', raw.faceParser, 'must be a model id, a file or "none"');
  return {
    restorer: raw.faceModel === undefined ? DEFAULT_FACE_MODELS.restorer : text('--face-model', raw.faceModel, 'must be a model id or a file'),
    detector: raw.faceDetector === undefined ? DEFAULT_FACE_MODELS.detector : text('--face-detector', raw.faceDetector, 'must be a model id or a file'),
    ...(parser === 'none' ? {} : { parser }),
    onlyCenterFace: raw.onlyCenterFace === true,
  };
}

function fail(message: string, flag: string, received: unknown): never {
  throw new InvalidOptionError(`${message}${received === undefined ? '' : ` (received ${JSON.stringify(received)})`}`, {
    details: { option: flag },
  });
}

function number(flag: string, raw: unknown): number {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (Number.isNaN(value)) fail(`${flag} must be a number`, flag, raw);
  return value;
}

export function integer(flag: string, raw: unknown, min: number): number {
  const value = number(flag, raw);
  if (!Number.isSafeInteger(value) || value < min) fail(`${flag} must be an integer >= ${min}`, flag, raw);
  return value;
}

function text(flag: string, raw: unknown, what: string): string {
  if (typeof raw !== 'string' || raw === '') fail(`${flag} ${what}`, flag, raw);
  return raw;
}

function oneOf<T extends string>(flag: string, raw: unknown, values: readonly T[]): T {
  if (!values.includes(raw as T)) fail(`${flag} must be ${values.map((v) => `"${v}"`).join(', ').replace(/, ([^,]*)$/, ' or $1')}`, flag, raw);
  return raw as T;
}

/** A suffix is part of a file name: no directories in it. */
function suffixOf(raw: unknown): string {
  if (typeof raw !== 'string' || /[\\/]/.test(raw)) fail('--suffix must be text without / or \\', '--suffix', raw);
  return raw;
}

function optionalFaces(raw: Record<string, unknown>): { faces?: FaceFlags } {
  const faces = parseFaceFlags(raw);
  return faces ? { faces } : {};
}

const optional = <T>(raw: unknown, parse: (raw: unknown) => T): T | undefined => (raw === undefined ? undefined : parse(raw));
const autoOrCount = (flag: string, raw: unknown): number | 'auto' =>
  raw === 'auto' ? 'auto' : (() => {
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : typeof raw === 'number' ? raw : Number.NaN;
    if (!Number.isSafeInteger(value) || value < 0) fail(`${flag} must be "auto" or an integer >= 0`, flag, raw);
    return value;
  })();

/**
 * Flags that may come from the environment instead: the flag wins, then SUPERRES_<NAME>, then the
 * config file, then the default. Every option a config file may set is here or in
 * UPSCALE_ENV_SWITCHES (-o, --json, -q and --config are not). Documented in the README's table.
 */
export const UPSCALE_ENV: Readonly<Record<string, string>> = {
  model: 'SUPERRES_MODEL',
  modelsDir: 'SUPERRES_MODELS_DIR',
  scale: 'SUPERRES_SCALE',
  tile: 'SUPERRES_TILE',
  tilePad: 'SUPERRES_TILE_PAD',
  maxMemory: 'SUPERRES_MAX_MEMORY',
  prePad: 'SUPERRES_PRE_PAD',
  denoise: 'SUPERRES_DENOISE',
  alpha: 'SUPERRES_ALPHA',
  device: 'SUPERRES_DEVICE',
  threads: 'SUPERRES_THREADS',
  quality: 'SUPERRES_QUALITY',
  compression: 'SUPERRES_COMPRESSION',
  maxPixels: 'SUPERRES_MAX_PIXELS',
  ext: 'SUPERRES_EXT',
  suffix: 'SUPERRES_SUFFIX',
  faceModel: 'SUPERRES_FACE_MODEL',
  faceDetector: 'SUPERRES_FACE_DETECTOR',
  faceParser: 'SUPERRES_FACE_PARSER',
};

/** Switches that may come from the environment: true/false, 1/0 or yes/no (as the server reads booleans). */
export const UPSCALE_ENV_SWITCHES: Readonly<Record<string, string>> = {
  faceEnhance: 'SUPERRES_FACE_ENHANCE',
  recursive: 'SUPERRES_RECURSIVE',
  overwrite: 'SUPERRES_OVERWRITE',
  strip: 'SUPERRES_STRIP',
  onlyCenterFace: 'SUPERRES_ONLY_CENTER_FACE',
};

const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];

/** A boolean variable: undefined when unset or empty; anything but true/false, 1/0, yes/no is refused, naming it. */
export function booleanFromEnv(env: Readonly<Record<string, string | undefined>>, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (TRUE_WORDS.includes(raw)) return true;
  if (FALSE_WORDS.includes(raw)) return false;
  return fail(`${name} must be true or false (also 1/0, yes/no)`, name, env[name]);
}

/** The help of every --threads flag: what the default really is. */
export const THREADS_HELP = 'ONNX Runtime threads per inference worker (default: $SUPERRES_THREADS, else all cores divided by $SUPERRES_WORKERS, which defaults to 1)';

/** Commander's values with the environment filled in where a flag was not given. */
export function withEnvironment(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out = { ...raw };
  for (const [key, name] of Object.entries(UPSCALE_ENV_SWITCHES)) {
    // --only-center-face, like the face models' variables below, matters only with face enhancement on.
    if (out[key] !== undefined || (key === 'onlyCenterFace' && out.faceEnhance !== true)) continue;
    const value = booleanFromEnv(env, name);
    if (value !== undefined) out[key] = value;
  }
  for (const [key, name] of Object.entries(UPSCALE_ENV)) {
    // The face models' variables matter only with face enhancement on (they are shared with the server).
    if (key.startsWith('face') && out.faceEnhance !== true) continue;
    const value = env[name]?.trim();
    if (out[key] === undefined && value) out[key] = value;
  }
  return out;
}

export function parseUpscaleFlags(raw: Record<string, unknown>): UpscaleFlags {
  const output = text('--output', raw.output, 'is required');
  const models = (raw.model === undefined ? DEFAULT_MODEL_ID : text('--model', raw.model, 'must be a model id or a file'))
    .split(',')
    .map((m) => m.trim());
  if (models.some((m) => m === '')) fail('--model: an empty name in the list', '--model', raw.model);
  const model = models[0]!;
  const denoise = optional(raw.denoise, (v) => {
    const value = number('--denoise', v);
    if (!(value >= 0 && value <= 1)) fail('--denoise must be a number from 0 to 1', '--denoise', v);
    return value;
  });
  const scale = optional(raw.scale, (v) => {
    const value = number('--scale', v);
    if (!Number.isFinite(value) || value <= 0) fail('--scale must be a positive number', '--scale', v);
    return value;
  });
  const quality = raw.quality === undefined ? 95 : integer('--quality', raw.quality, 1);
  if (quality > 100) fail('--quality must be at most 100', '--quality', raw.quality);
  return {
    output,
    model,
    models,
    recursive: raw.recursive === true,
    ext: raw.ext === undefined ? 'auto' : oneOf('--ext', raw.ext, ['auto', 'png', 'jpg', 'webp', 'avif'] as const),
    suffix: raw.suffix === undefined ? '' : suffixOf(raw.suffix),
    overwrite: raw.overwrite === true,
    json: raw.json === true,
    strip: raw.strip === true,
    compression: optional(raw.compression, (v) => {
      const level = integer('--compression', v, 0);
      if (level > 9) fail('--compression must be 0..9', '--compression', v);
      return level;
    }),
    denoise,
    modelsDir: optional(raw.modelsDir, (v) => text('--models-dir', v, 'must not be empty')),
    scale,
    tile: raw.tile === undefined ? 'auto' : autoOrCount('--tile', raw.tile),
    tilePad: raw.tilePad === undefined ? 'auto' : autoOrCount('--tile-pad', raw.tilePad),
    maxMemory: optional(raw.maxMemory, (v) => parseByteSize(String(v), '--max-memory')),
    prePad: raw.prePad === undefined ? 0 : integer('--pre-pad', raw.prePad, 0),
    alpha: raw.alpha === undefined ? 'model' : oneOf('--alpha', raw.alpha, ['model', 'resize'] as const),
    device: raw.device === undefined ? 'cpu' : oneOf('--device', raw.device, ['cpu', 'cuda', 'webgpu', 'auto'] as const),
    threads: optional(raw.threads, (v) => integer('--threads', v, 1)),
    quality,
    maxPixels: optional(raw.maxPixels, (v) => integer('--max-pixels', v, 1)),
    quiet: raw.quiet === true,
    ...optionalFaces(raw),
  };
}
