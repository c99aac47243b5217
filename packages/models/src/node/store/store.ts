/**
 * The weight store: a directory of verified model files, downloaded on demand.
 *
 * Concurrency: no lock. Each download streams into its own uniquely named temp file in the
 * store directory, is hashed and verified, and only then renamed over the final name. rename(2)
 * within one directory is atomic, so a reader sees either no file or a complete verified one,
 * and two processes pulling the same model at once each rename identical verified bytes (the
 * second rename replaces the first with the same content). A crash leaves at most a dot-named
 * temp file, swept later; there is no lock that a dead process could leave held. The price is a
 * possibly duplicated download, which is rare and harmless. Trust-on-first-use records are
 * created with O_EXCL before the rename, so racing first downloads cannot record two hashes.
 */
import { mkdir, readFile, rm, rename } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  ChecksumError,
  DownloadError,
  isSuperresError,
  type SuperresError,
  createRegistry,
  type ModelKind,
  type ModelPlugin,
  type ModelRegistry,
} from '@superres/core';
import { registerBuiltinModels, DEFAULT_MODEL_ID, type CatalogModel } from '../../catalog/catalog.js';
import { detectModelFormat, type ModelFileFormat } from '../../plugins/detect-format.js';
import { fileSize, sha256File, sha256Sliced, sweepStaleTemps, tempPathFor } from './atomic.js';
import { downloadTo, DEFAULT_TIMEOUT_MS } from './download.js';
import { MODEL_ID, expectedSha256, importedIds, locate, type Located } from './entries.js';
import { importModelFile, type ImportOptions } from './import.js';
import { cachedOnnx, dropCachedOnnx, dropOnnxFor, type CachedOnnx } from './onnx-cache.js';
import { defaultModelsDir, rebaseUrl, storeLayout, type Env } from './paths.js';
import { readImportRecord, readTofuRecord, recordTofu, type ImportRecord } from './records.js';

export interface DownloadProgress {
  id: string;
  /** Bytes received so far. */
  bytes: number;
  /** Expected size: the response's Content-Length, else the catalog's size, else unknown. */
  total: number | undefined;
}

export interface PullOptions {
  signal?: AbortSignal;
  onProgress?(progress: DownloadProgress): void;
}

export interface ModelStoreOptions {
  /** Default: SUPERRES_MODELS_DIR, else $XDG_CACHE_HOME/superres/models, else ~/.cache/superres/models. */
  dir?: string;
  fetch?: typeof fetch;
  onProgress?(progress: DownloadProgress): void;
  /** Models that can be pulled; default: the built-in catalog. */
  registry?: ModelRegistry;
  /** Where to download a plugin's weights from; default: its own URL, rebased on `baseUrl`. */
  urlFor?(plugin: ModelPlugin): string;
  /** Replaces each URL's prefix up to the file name (mirrors, tests); default SUPERRES_MODELS_BASE_URL. */
  baseUrl?: string;
  /** Longest wait for response headers and between body chunks (ms); default 60000. */
  timeoutMs?: number;
  /** Environment to read SUPERRES_* from; default process.env. */
  env?: Env;
}

export interface PullResult {
  id: string;
  path: string;
  sha256: string;
  bytes: number;
  /** False when a verified file was already there. */
  downloaded: boolean;
}

/** A verified weights file, read into memory. */
export interface StoredWeights {
  id: string;
  path: string;
  sha256: string;
  bytes: Uint8Array;
  format: ModelFileFormat;
  plugin: ModelPlugin;
}

export type VerifyStatus = 'ok' | 'mismatch' | 'missing' | 'unrecorded';

export interface VerifyResult {
  id: string;
  status: VerifyStatus;
  path: string;
  expected?: string;
  actual?: string;
}

export interface StoreEntry {
  id: string;
  source: 'catalog' | 'imported';
  kind: ModelKind;
  scale: number;
  architecture?: string;
  description?: string;
  license?: string;
  /** The file's size when installed, else the published size (if any). */
  size?: number;
  installed: boolean;
  isDefault: boolean;
  path: string;
  /** Where a catalog model's weights are downloaded from (SUPERRES_MODELS_BASE_URL applied). */
  url?: string;
}

export interface ModelStore {
  readonly dir: string;
  readonly registry: ModelRegistry;
  /** Whether `id` names a catalog model or a model imported into this store. */
  has(id: string): Promise<boolean>;
  plugin(id: string): Promise<ModelPlugin>;
  /** Path of the verified weights file, downloading it first when absent. */
  resolve(id: string, options?: PullOptions): Promise<string>;
  /** Like resolve, and reads the verified bytes. */
  load(id: string, options?: PullOptions): Promise<StoredWeights>;
  /** Downloads unless a verified file is there; replaces a file that fails verification. */
  pull(id: string, options?: PullOptions): Promise<PullResult>;
  /** Re-hashes one model's file, or every known model's. */
  verify(id?: string): Promise<VerifyResult[]>;
  /** Deletes a model's file, its records and its converted graphs; returns the deleted paths. */
  remove(id: string): Promise<string[]>;
  import(file: string, options: ImportOptions): Promise<ImportRecord>;
  list(): Promise<StoreEntry[]>;
  /** The converted graph cached under `key`, built by `build` on a miss. */
  cachedOnnx(key: string, build: () => Promise<Uint8Array>): Promise<CachedOnnx>;
  dropOnnx(key: string): Promise<void>;
}

export function createModelStore(options: ModelStoreOptions = {}): ModelStore {
  const env = options.env ?? process.env;
  const layout = storeLayout(options.dir ?? defaultModelsDir(env));
  const registry = options.registry ?? registerBuiltinModels(createRegistry());
  const baseUrl = options.baseUrl ?? (env.SUPERRES_MODELS_BASE_URL || undefined);
  const urlFor = (located: Located & { source: 'catalog' }) =>
    options.urlFor?.(located.plugin) ?? (baseUrl ? rebaseUrl(located.url, baseUrl) : located.url);

  /** An offline or blocked download says where the file goes and the other ways to get it there. */
  function withRemedy(error: SuperresError, located: Located, url: string): DownloadError {
    const file = url.slice(url.lastIndexOf('/') + 1);
    return new DownloadError(
      `${error.message}. Model "${located.id}" is looked for at ${located.path}: copy ${file} there, ` +
        `or set SUPERRES_MODELS_BASE_URL to a mirror that serves ${file}, ` +
        `or run "superres models pull ${located.id}" on a machine with internet access and copy the models directory`,
      { cause: error, details: { ...error.details, id: located.id, path: located.path, url, reason: error.message } },
    );
  }

  /** `what` is the file or download that failed: named in the message, with what to do next. */
  function mismatch(located: Located, what: string, expected: string, actual: string): never {
    const next = what.startsWith('the download')
      ? 'Nothing was stored.'
      : located.source === 'catalog'
        ? 'Pull the model again to replace it, or remove it.'
        : 'Import it again, or remove it.';
    throw new ChecksumError(
      `Refusing ${what} for model "${located.id}": its sha256 is ${actual}, expected ${expected}. ${next}`,
      { details: { id: located.id, path: located.path, expected, actual } },
    );
  }

  /** Accepts `actual` as the hash of `what` or throws; records it where no hash is known yet. */
  async function accept(located: Located, actual: string, what = located.path): Promise<void> {
    const expected = await expectedSha256(layout, located);
    if (expected === undefined) {
      const recorded = await recordTofu(layout.tofuRecord(located.id), actual, basename(located.path));
      if (recorded !== actual) mismatch(located, what, recorded, actual);
    } else if (expected !== actual) {
      mismatch(located, what, expected, actual);
    }
  }

  async function download(located: Located & { source: 'catalog' }, pull: PullOptions): Promise<PullResult> {
    const url = urlFor(located);
    const expectedBytes = located.plugin.weights?.bytes;
    const onProgress = pull.onProgress ?? options.onProgress;
    await mkdir(layout.dir, { recursive: true });
    await sweepStaleTemps(located.path);
    const temp = tempPathFor(located.path);
    try {
      const got = await downloadTo(url, temp, {
        fetch: options.fetch,
        signal: pull.signal,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBytes: expectedBytes,
        onProgress: onProgress && ((bytes, total) => onProgress({ id: located.id, bytes, total: total ?? expectedBytes })),
      });
      await accept(located, got.sha256, `the download from ${url}`);
      await commit(temp, located, got.sha256);
      return { id: located.id, path: located.path, sha256: got.sha256, bytes: got.bytes, downloaded: true };
    } catch (error) {
      throw isSuperresError(error) && error.code === 'E_DOWNLOAD' ? withRemedy(error, located, url) : error;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async function commit(temp: string, located: Located, sha256: string): Promise<void> {
    try {
      await rename(temp, located.path);
    } catch (error) {
      // Windows refuses to replace a file another process holds open; that file is fine if it
      // already has the verified content.
      const there = await sha256File(located.path).catch(() => undefined);
      if (there !== sha256) throw error;
    }
  }

  async function pull(id: string, pullOptions: PullOptions = {}): Promise<PullResult> {
    const located = await locate(layout, registry, id);
    const size = await fileSize(located.path);
    if (size !== undefined) {
      const actual = await sha256File(located.path);
      const expected = await expectedSha256(layout, located);
      if (expected === undefined || expected === actual) {
        await accept(located, actual);
        return { id, path: located.path, sha256: actual, bytes: size, downloaded: false };
      }
      if (located.source === 'imported') mismatch(located, located.path, expected, actual);
    }
    if (located.source === 'imported') {
      throw new ChecksumError(`The imported file ${located.path} for model "${id}" is missing: import it again`, {
        details: { id, path: located.path },
      });
    }
    return download(located, pullOptions);
  }

  async function load(id: string, pullOptions: PullOptions = {}): Promise<StoredWeights> {
    const located = await locate(layout, registry, id);
    if ((await fileSize(located.path)) === undefined) await pull(id, pullOptions);
    const bytes = new Uint8Array(await readFile(located.path));
    const sha256 = await sha256Sliced(bytes);
    await accept(located, sha256);
    return { id, path: located.path, sha256, bytes, format: detectModelFormat(bytes), plugin: located.plugin };
  }

  async function verifyOne(id: string): Promise<VerifyResult> {
    const located = await locate(layout, registry, id);
    const base = { id, path: located.path };
    const expected = await expectedSha256(layout, located);
    if ((await fileSize(located.path)) === undefined) return { ...base, status: 'missing', ...(expected ? { expected } : {}) };
    const actual = await sha256File(located.path);
    if (expected === undefined) return { ...base, status: 'unrecorded', actual };
    return { ...base, status: expected === actual ? 'ok' : 'mismatch', expected, actual };
  }

  async function allIds(): Promise<string[]> {
    return [...registry.list().map((p) => p.id), ...(await importedIds(layout)).filter((id) => !registry.has(id))];
  }

  async function entry(id: string): Promise<StoreEntry | undefined> {
    const located = await locate(layout, registry, id).catch(() => undefined);
    if (!located) return undefined;
    const size = await fileSize(located.path);
    const { plugin } = located;
    const architecture =
      located.source === 'imported' ? located.record.architecture : (plugin as Partial<CatalogModel>).architecture;
    return {
      id,
      source: located.source,
      kind: plugin.kind,
      scale: plugin.scale,
      ...(architecture ? { architecture } : {}),
      ...(plugin.description ? { description: plugin.description } : {}),
      ...(plugin.weights?.license ? { license: plugin.weights.license } : {}),
      ...((size ?? plugin.weights?.bytes) !== undefined ? { size: size ?? plugin.weights?.bytes } : {}),
      installed: size !== undefined,
      isDefault: id === DEFAULT_MODEL_ID && located.source === 'catalog',
      path: located.path,
      ...(located.source === 'catalog' ? { url: urlFor(located) } : {}),
    };
  }

  return {
    dir: layout.dir,
    registry,
    async has(id) {
      if (typeof id !== 'string' || !MODEL_ID.test(id)) return false;
      return registry.has(id) || (await readImportRecord(layout.importRecord(id)).catch(() => undefined)) !== undefined;
    },
    plugin: async (id) => (await locate(layout, registry, id)).plugin,
    async resolve(id, pullOptions) {
      const located = await locate(layout, registry, id);
      if ((await fileSize(located.path)) === undefined) return (await pull(id, pullOptions)).path;
      // Present: used only if it verifies (a bad file is refused, never silently replaced).
      await accept(located, await sha256File(located.path));
      return located.path;
    },
    load,
    pull,
    async verify(id) {
      const ids = id === undefined ? await allIds() : [id];
      const results: VerifyResult[] = [];
      for (const one of ids) results.push(await verifyOne(one));
      return results;
    },
    async remove(id) {
      const located = await locate(layout, registry, id);
      const hashes = [await expectedSha256(layout, located).catch(() => undefined)];
      if ((await fileSize(located.path)) !== undefined) hashes.push(await sha256File(located.path));
      if (located.source === 'catalog') hashes.push(await readTofuRecord(layout.tofuRecord(id)).catch(() => undefined));
      const removed: string[] = [];
      for (const path of [located.path, layout.tofuRecord(id), ...(located.source === 'imported' ? [layout.importRecord(id)] : [])]) {
        if ((await fileSize(path)) === undefined) continue;
        await rm(path, { force: true });
        removed.push(path);
      }
      removed.push(...(await dropOnnxFor(layout.onnxDir, hashes.filter((h): h is string => h !== undefined))));
      return removed;
    },
    import: (file, importOptions) => importModelFile(layout, registry, file, importOptions),
    async list() {
      const entries = await Promise.all((await allIds()).map(entry));
      return entries.filter((e): e is StoreEntry => e !== undefined);
    },
    cachedOnnx: (key, build) => cachedOnnx(layout.onnxDir, key, build),
    dropOnnx: (key) => dropCachedOnnx(layout.onnxDir, key),
  };
}
