import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CONVERTER_VERSION } from '../../onnx/version.js';
import { sweepStaleTemps, writeFileAtomic } from './atomic.js';

export interface OnnxCacheKeyParts {
  /** sha256 of the weights the graph is built from. */
  sha256: string;
  /** Set when the graph blends a second set of weights (denoise). */
  denoise?: { value: number; partnerSha256: string };
}

/**
 * Converted graphs are named by what determines their bytes: the weights' sha256, the
 * converter version (a converter change must not reuse old graphs) and the denoise blend.
 */
export function onnxCacheKey({ sha256, denoise }: OnnxCacheKeyParts): string {
  const base = `${sha256}-c${CONVERTER_VERSION}`;
  return denoise ? `${base}-dn${denoise.value}-${denoise.partnerSha256}` : base;
}

export interface CachedOnnx {
  bytes: Uint8Array;
  path: string;
  /** True when the graph came from the cache, false when it was just built. */
  hit: boolean;
}

/**
 * The cached graph for `key`, built and written (atomically) on a miss. Two processes missing at
 * once both build and both rename identical bytes into place; readers only ever see whole files.
 */
export async function cachedOnnx(dir: string, key: string, build: () => Promise<Uint8Array>): Promise<CachedOnnx> {
  const path = join(dir, `${key}.onnx`);
  try {
    return { bytes: new Uint8Array(await readFile(path)), path, hit: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const bytes = await build();
  await mkdir(dir, { recursive: true });
  await sweepStaleTemps(path);
  await writeFileAtomic(path, bytes);
  return { bytes, path, hit: false };
}

export async function dropCachedOnnx(dir: string, key: string): Promise<void> {
  await rm(join(dir, `${key}.onnx`), { force: true });
}

/** Deletes every cached graph built from any of these weights; returns the deleted paths. */
export async function dropOnnxFor(dir: string, sha256s: Iterable<string>): Promise<string[]> {
  const wanted = [...new Set(sha256s)];
  if (wanted.length === 0) return [];
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.onnx') || !wanted.some((sha) => name.includes(sha))) continue;
    await rm(join(dir, name), { force: true });
    removed.push(join(dir, name));
  }
  return removed;
}
