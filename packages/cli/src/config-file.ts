/**
 * A config file of `superres upscale` defaults: `--config <file>`, else SUPERRES_CONFIG, else
 * `superres.config.json` in the working directory when there is one. A JSON object of the
 * upscale options by their long names (`"model": "RealESRGAN_x4plus"`, `"tile": 256`,
 * `"face-enhance": true`); a flag and a SUPERRES_* variable both win over it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidOptionError } from '@superres/core';

export const CONFIG_FILE_NAME = 'superres.config.json';

/** Long flag names the file may set, as commander names their values. */
export const CONFIG_FILE_KEYS: Readonly<Record<string, string>> = {
  model: 'model',
  'models-dir': 'modelsDir',
  scale: 'scale',
  tile: 'tile',
  'tile-pad': 'tilePad',
  'pre-pad': 'prePad',
  'max-memory': 'maxMemory',
  denoise: 'denoise',
  alpha: 'alpha',
  device: 'device',
  threads: 'threads',
  quality: 'quality',
  compression: 'compression',
  'max-pixels': 'maxPixels',
  ext: 'ext',
  suffix: 'suffix',
  overwrite: 'overwrite',
  recursive: 'recursive',
  strip: 'strip',
  'face-enhance': 'faceEnhance',
  'face-model': 'faceModel',
  'face-detector': 'faceDetector',
  'face-parser': 'faceParser',
  'only-center-face': 'onlyCenterFace',
};

export interface ConfigFile {
  path: string;
  /** Values by commander's option names. */
  values: Record<string, unknown>;
}

/** Reads the config file that applies, or undefined when none is named and none is in `cwd`. */
export async function loadConfigFile(explicit: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): Promise<ConfigFile | undefined> {
  const named = explicit ?? (env.SUPERRES_CONFIG?.trim() || undefined);
  const path = resolve(cwd, named ?? CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!named && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidOptionError(`Config file ${path} cannot be read: ${(error as Error).message}`, { details: { option: '--config' } });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidOptionError(`Config file ${path} is not valid JSON: ${(cause as Error).message}`, { cause, details: { option: '--config' } });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidOptionError(`Config file ${path} must hold a JSON object of options`, { details: { option: '--config' } });
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const name = CONFIG_FILE_KEYS[key];
    if (!name) throw new InvalidOptionError(`Config file ${path}: unknown option "${key}" (known: ${Object.keys(CONFIG_FILE_KEYS).join(', ')})`, { details: { option: key } });
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new InvalidOptionError(`Config file ${path}: "${key}" must be a string, a number or true/false`, { details: { option: key } });
    }
    // Flags arrive as strings (or true for switches): numbers are handed over as commander would.
    values[name] = typeof value === 'number' ? String(value) : value;
  }
  return { path, values };
}

/** `raw` (flags, then environment) with the file's values where neither gave one; `false` in the file turns a switch off. */
export function withConfigFile(raw: Record<string, unknown>, file: ConfigFile | undefined): Record<string, unknown> {
  if (!file) return raw;
  const out = { ...raw };
  for (const [key, value] of Object.entries(file.values)) {
    if (out[key] === undefined && value !== false) out[key] = value;
  }
  return out;
}
