import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { throwIfAborted, type AbortSignalLike } from '@superres/core';

const TEMP_SUFFIX = '.part';
/**
 * A temp file untouched this long belongs to a dead process: a live download writes at least
 * once per stall timeout (60 s by default), so its mtime is always recent.
 */
const STALE_TEMP_MS = 15 * 60 * 1000;

/**
 * A unique temp name beside `target` (same directory, hence same filesystem, so the final
 * rename is atomic). Dot-prefixed so listings skip it.
 */
export function tempPathFor(target: string): string {
  const unique = `${process.pid}-${randomBytes(6).toString('hex')}`;
  return join(dirname(target), `.${basename(target)}.${unique}${TEMP_SUFFIX}`);
}

/** Whether a directory entry is one of tempPathFor's names (a leftover after a crash). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o666 minus umask). */
  mode?: number;
  /** Flush to disk before the rename (default true): a crash then leaves the old or the new file, whole. */
  fsync?: boolean;
  /** Checked just before the rename: once it fired, the temp file goes and nothing is written. */
  signal?: AbortSignalLike;
}

/**
 * Writes to a temp file, flushes it and renames it over `target`: readers never see half a file.
 * `content` is the bytes, or a function that writes the (already created, empty) temp file itself
 * at the path it is given, for writers that stream (an image encoder writing to disk).
 */
export async function writeFileAtomic(
  target: string,
  content: Uint8Array | string | ((tempPath: string) => Promise<void>),
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temp = tempPathFor(target);
  try {
    const handle = await open(temp, 'wx', options.mode);
    try {
      if (typeof content === 'function') await content(temp);
      else await handle.writeFile(content);
      if (options.fsync !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    throwIfAborted(options.signal);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Bytes hashed between two turns of the event loop (a few milliseconds of SHA-256). */
const HASH_SLICE = 4 * 1024 * 1024;

/** The sha256 of a buffer (model weights: up to gigabytes) without holding the event loop for its whole length. */
export async function sha256Sliced(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.length; at += HASH_SLICE) {
    hash.update(bytes.subarray(at, at + HASH_SLICE));
    if (at + HASH_SLICE < bytes.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

/** Size of a file, or undefined when there is none. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Deletes temp files of `target` left by processes that died mid-write. */
export async function sweepStaleTemps(target: string, now = Date.now()): Promise<void> {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
  }
}
