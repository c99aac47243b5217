/**
 * An ncnn model on disk: the `.param` text the user names and the `.bin` beside it (same name,
 * `.bin` for `.param`), as ncnn tools and Upscayl ship them.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ModelNotFoundError } from '@superres/core';
import { parseNcnnParam } from '../ncnn/param.js';

export interface NcnnFiles {
  /** The .param text. */
  param: string;
  /** The .bin bytes. */
  bin: Uint8Array;
  binPath: string;
}

/** The .bin that belongs to a .param: `x.param` -> `x.bin` (any other name gets `.bin` added). */
export function ncnnBinPath(paramPath: string): string {
  return extname(paramPath).toLowerCase() === '.param' ? paramPath.slice(0, -'.param'.length) + '.bin' : `${paramPath}.bin`;
}

/** Whether a path names an ncnn .param by its extension (`detectModelFormat` tells by content). */
export function isNcnnParamPath(path: string): boolean {
  return extname(path).toLowerCase() === '.param';
}

/** Reads a .param (its text given when already read) and the .bin beside it. */
export async function readNcnnFiles(paramPath: string, paramBytes?: Uint8Array): Promise<NcnnFiles> {
  const bytes = paramBytes ?? new Uint8Array(await readFile(paramPath));
  const param = new TextDecoder().decode(bytes);
  // Not an ncnn .param after all: the parser says what is wrong before a .bin is looked for.
  if (!/^\s*7767517\s/.test(param)) parseNcnnParam(param);
  const binPath = ncnnBinPath(paramPath);
  let bin: Uint8Array;
  try {
    bin = new Uint8Array(await readFile(binPath));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new ModelNotFoundError(`ncnn model ${paramPath} needs its weights beside it: ${binPath} was not found`, {
      cause: error,
      details: { path: binPath, param: paramPath },
    });
  }
  return { param, bin, binPath };
}
