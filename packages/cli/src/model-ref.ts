/**
 * What a model argument names, by the one rule every flag follows (--model, --face-model,
 * --face-detector, --face-parser): an existing file wins; otherwise a catalog or imported id; a
 * name that looks like a path but is neither is an error, not an unknown id. Also the file-system
 * checks the commands share.
 */
import { stat } from 'node:fs/promises';
import { ModelNotFoundError } from '@superres/core';
import type { ModelStore } from '@superres/models/node';

const MODEL_FILE = /\.(pth|pt|onnx|safetensors|param)$/i;

export async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

export async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** `{ file }` for an existing file, else the id (checked to be known when it looks like a path). */
export async function modelRef(flag: string, name: string, store: ModelStore): Promise<string | { file: string }> {
  if (await isFile(name)) return { file: name };
  if (!(await store.has(name)) && (/[\\/]/.test(name) || MODEL_FILE.test(name))) {
    throw new ModelNotFoundError(`${flag} ${name}: no such file, and no model with that id`, { details: { id: name } });
  }
  return name;
}

/** A model's name in output file names: the id, or the file name without its extension. */
export function modelTag(name: string): string {
  return name.split(/[\\/]/).pop()!.replace(MODEL_FILE, '');
}
