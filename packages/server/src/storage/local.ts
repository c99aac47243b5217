import { lstatSync } from 'node:fs';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { InvalidOptionError } from '@superres/core';
import { isTempName, writeFileAtomic } from '@superres/models/node';
import type { Storage, StoredObject } from '../contracts.js';
import { StorageError, assertSafeKey, contentTypeForKey, describeReceived, isSafeKey, trimTrailingSlashes } from './errors.js';

export interface LocalStorageOptions {
  /** Directory the outputs are written to (created on first use). Dedicated to this storage. */
  dir: string;
  /** Public URL the HTTP layer serves `dir` under, e.g. `http://127.0.0.1:3000/outputs`. */
  publicBaseUrl: string;
}

/** Local-disk storage: the server serves the files itself (`/outputs/<key>`). */
export interface LocalStorage extends Storage {
  readonly kind: 'local';
  /** Absolute path of the output directory. */
  readonly dir: string;
  /** The public base URL, without a trailing slash. */
  readonly publicBaseUrl: string;
  /**
   * The absolute path of a stored object, for the HTTP layer to serve; undefined when the key is
   * not a plain, safe name or no such regular file exists (serve 404).
   */
  resolve(key: string): string | undefined;
  /** The media type to serve a key with (from its extension; `application/octet-stream` when unknown). */
  contentTypeOf(key: string): string;
}

/** Temporary files start with a dot: never a valid key, so never served nor counted. */

const optionsSchema = z.object({
  dir: z.string().min(1),
  publicBaseUrl: z.string().refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }),
});

const expectations: Record<keyof LocalStorageOptions, string> = {
  dir: 'a non-empty directory path',
  publicBaseUrl: 'an absolute http(s) URL',
};

export function createLocalStorage(options: LocalStorageOptions): LocalStorage {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = (issue?.path[0] ?? 'options') as keyof LocalStorageOptions;
    const received = (options as unknown as Record<string, unknown> | undefined)?.[name];
    throw new InvalidOptionError(
      `local storage option ${name} must be ${expectations[name] ?? 'valid'}; received ${describeReceived(received)}`,
      { details: { option: name, received } },
    );
  }
  const dir = path.resolve(parsed.data.dir);
  const publicBaseUrl = trimTrailingSlashes(parsed.data.publicBaseUrl);
  let ready: Promise<unknown> | undefined;

  const ensureDir = (): Promise<unknown> => {
    ready ??= mkdir(dir, { recursive: true }).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };

  async function put(key: string, bytes: Uint8Array, _contentType: string): Promise<StoredObject> {
    assertSafeKey(key);
    try {
      await ensureDir();
      await writeFileAtomic(path.join(dir, key), bytes, { mode: 0o644 });
    } catch (error) {
      throw new StorageError(`could not write output "${key}" to ${dir}: ${(error as Error).message}`, {
        cause: error,
        details: { key, dir },
      });
    }
    return { url: `${publicBaseUrl}/${key}`, key };
  }

  async function clear(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new StorageError(`could not list ${dir}: ${(error as Error).message}`, { cause: error, details: { dir } });
    }
    let removed = 0;
    for (const name of names) {
      const ours = isSafeKey(name);
      // Leftover temporaries (a crash between write and rename) go too, but are not counted.
      if (!ours && !isTempName(name)) continue;
      const file = path.join(dir, name);
      try {
        if (!lstatSync(file).isFile()) continue;
        await unlink(file);
        if (ours) removed += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new StorageError(`could not delete ${file}: ${(error as Error).message}`, { cause: error, details: { dir, key: name } });
      }
    }
    return removed;
  }

  function resolve(key: string): string | undefined {
    if (!isSafeKey(key)) return undefined;
    const file = path.join(dir, key);
    try {
      return lstatSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    kind: 'local',
    dir,
    publicBaseUrl,
    put,
    clear,
    resolve,
    contentTypeOf: contentTypeForKey,
  };
}
