import { lstatSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ImageTooLargeError, InvalidOptionError } from '@superres/core';
import { isTempName, writeFileAtomic } from '@superres/models/node';
import type { ClearOptions, Storage, StoredObject } from '../contracts.js';
import { probeWritable } from '../probe-write.js';
import { ownKeyOf } from './own-url.js';
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
  readOwn(url: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Whether the directory takes a write now (for /readyz). */
  ready(): Promise<boolean>;
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

  async function clear(options: ClearOptions = {}): Promise<number> {
    const cutoff = options.olderThanMs === undefined ? undefined : Date.now() - options.olderThanMs;
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
        const info = lstatSync(file);
        if (!info.isFile() || (cutoff !== undefined && info.mtimeMs >= cutoff)) continue;
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

  async function readOwn(url: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const key = ownKeyOf(url, `${publicBaseUrl}/`);
    const file = key === undefined ? undefined : resolve(key);
    if (!file) return undefined;
    const size = lstatSync(file).size;
    if (size > maxBytes) throw new ImageTooLargeError(`url: the stored image has ${size} bytes, more than ${maxBytes} (SUPERRES_MAX_INPUT_BYTES)`);
    return new Uint8Array(await readFile(file));
  }

  return {
    kind: 'local',
    dir,
    publicBaseUrl,
    put,
    clear,
    readOwn,
    resolve,
    contentTypeOf: contentTypeForKey,
    async ready() {
      await ensureDir().catch(() => undefined);
      return probeWritable(dir);
    },
  };
}
