import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

/** SUPERRES_MODELS_DIR, else $XDG_CACHE_HOME/superres/models, else ~/.cache/superres/models. */
export function defaultModelsDir(env: Env = process.env): string {
  if (env.SUPERRES_MODELS_DIR) return resolve(env.SUPERRES_MODELS_DIR);
  const cache = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(cache, 'superres', 'models');
}

/**
 * Where each thing lives inside a models directory. Everything is flat and named by model id,
 * except converted graphs, which are named by content (weights sha256) in `onnx/`.
 */
export interface StoreLayout {
  readonly dir: string;
  /** Downloaded or imported weights: `<id><ext>`. */
  weights(id: string, ext: string): string;
  /** Trust-on-first-use record of a download with no published sha256: `<id>.sha256`. */
  tofuRecord(id: string): string;
  /** The record that makes an id an imported model: `<id>.json`. */
  importRecord(id: string): string;
  readonly onnxDir: string;
  onnx(key: string): string;
}

export function storeLayout(dir: string): StoreLayout {
  const onnxDir = join(dir, 'onnx');
  return {
    dir,
    weights: (id, ext) => join(dir, `${id}${ext}`),
    tofuRecord: (id) => join(dir, `${id}.sha256`),
    importRecord: (id) => join(dir, `${id}.json`),
    onnxDir,
    onnx: (key) => join(onnxDir, `${key}.onnx`),
  };
}

/** The extension of a URL's file name (`.pth` when it has none we know). */
export function weightsExtension(url: string): string {
  const ext = extname(basename(new URL(url).pathname)).toLowerCase();
  return ext === '.onnx' || ext === '.safetensors' || ext === '.pth' || ext === '.pt' ? ext : '.pth';
}

/** `SUPERRES_MODELS_BASE_URL` style override: the base replaces everything up to the file name. */
export function rebaseUrl(url: string, base: string): string {
  const file = basename(new URL(url).pathname);
  return `${base.replace(/\/+$/, '')}/${file}`;
}
