import { mkdir, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BadCheckpointError, DuplicateModelError, type ModelGeometry, type ModelRegistry } from '@superres/core';
import type { ArchitectureOverrides } from '../../architectures/detect.js';
import { detectModelFormat } from '../../plugins/detect-format.js';
import { probeOnnxGeometry } from '../../plugins/probe-onnx.js';
import { createNodeBackend } from '../backend.js';
import { isNcnnParamPath, readNcnnFiles } from '../ncnn-files.js';
import { NCNN_ARCHITECTURE } from '../../ncnn/convert.js';
import { sharedWorkerPool } from '../pool/shared-pool.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import { sha256Sliced, writeFileAtomic } from './atomic.js';
import { checkId } from './entries.js';
import { readImportRecord, type ImportRecord } from './records.js';
import type { StoreLayout } from './paths.js';

export interface ImportOptions {
  /** The id to use the model by; must not be a catalog id. */
  id: string;
  /** Replace an earlier import under the same id. */
  replace?: boolean;
  /** For checkpoints that cannot tell their activation etc. (see ArchitectureOverrides). */
  overrides?: ArchitectureOverrides;
  /** The workers that read and convert the file; default: the process's shared pool. */
  pool?: WorkerPool;
}

/**
 * Copies a user's checkpoint or ONNX file into the store and records what it is. The file is
 * read and its graph built (or, for ONNX, run once) now, so a broken file is refused here. An
 * ncnn `.param` (with its `.bin` beside it) is converted and stored as ONNX.
 */
export async function importModelFile(
  layout: StoreLayout,
  registry: ModelRegistry,
  file: string,
  options: ImportOptions,
): Promise<ImportRecord> {
  const id = checkId(options.id);
  if (registry.has(id)) {
    throw new DuplicateModelError(`"${id}" is a built-in model id: import under another id`, { details: { id } });
  }
  const previous = await readImportRecord(layout.importRecord(id)).catch(() => undefined);
  if (previous && !options.replace) {
    throw new DuplicateModelError(`A model "${id}" is already imported: remove it first, or import with replace`, { details: { id } });
  }
  const read = new Uint8Array(await readFile(file));
  const sniffed = detectModelFormat(read);
  const pool = options.pool ?? sharedWorkerPool();
  let bytes: Uint8Array = read;
  let format = sniffed;
  let described: Described;
  if (sniffed === 'ncnn' || (sniffed === 'unknown' && isNcnnParamPath(file))) {
    // An ncnn model is stored as the ONNX graph converted from it, not as the .param/.bin pair:
    // the store keeps, hashes, verifies and removes one file per id, and a stored ONNX graph
    // loads without converting again (and on every backend, the browser's included). The
    // geometry the conversion worked out from the layers is recorded with it. The cost: the
    // float32 graph is about twice a float16 .bin, and a later converter fix reaches an
    // imported model only when it is imported again.
    const converted = await convertNcnnFile(file, read, pool);
    bytes = converted.onnx;
    format = 'onnx';
    described = converted.described;
  } else {
    described = sniffed === 'onnx' ? await describeOnnx(read, pool) : await describeCheckpoint(read, options.overrides, pool);
  }
  const ext = format === 'onnx' ? '.onnx' : '.pth';
  const record: ImportRecord = {
    version: 1,
    id,
    file: `${id}${ext}`,
    sha256: await sha256Sliced(bytes),
    bytes: bytes.length,
    format,
    ...described,
    ...(options.overrides ? { overrides: { ...options.overrides } } : {}),
    source: resolve(file),
    importedAt: new Date().toISOString(),
  };
  await mkdir(layout.dir, { recursive: true });
  // Weights first, record last: the record is what makes the id exist, so it never points at
  // a file that is not there yet.
  await writeFileAtomic(layout.weights(id, ext), bytes);
  await writeFileAtomic(layout.importRecord(id), `${JSON.stringify(record, null, 2)}\n`);
  if (previous && previous.file !== record.file) await rm(layout.weights(id, previous.file.slice(id.length)), { force: true });
  return record;
}

type Described = ModelGeometry & Pick<ImportRecord, 'architecture' | 'kind' | 'hyperparameters'>;

/** Read and converted in a worker: a large checkpoint takes seconds. */
async function describeCheckpoint(bytes: Uint8Array, overrides: ArchitectureOverrides | undefined, pool: WorkerPool): Promise<Described> {
  const { built } = await pool.convert({ kind: 'checkpoint', bytes, ...(overrides ? { overrides } : {}) });
  return { ...built!.geometry, architecture: built!.architecture, kind: built!.kind, hyperparameters: built!.hyperparameters };
}

async function convertNcnnFile(file: string, paramBytes: Uint8Array, pool: WorkerPool): Promise<{ onnx: Uint8Array; described: Described }> {
  const files = await readNcnnFiles(file, paramBytes);
  const { onnx, geometry, hyperparameters } = await pool.convertNcnn({ kind: 'ncnn', param: files.param, bin: files.bin });
  return { onnx, described: { ...geometry, architecture: NCNN_ARCHITECTURE, kind: 'upscaler', hyperparameters: { ...hyperparameters, bin: resolve(files.binPath) } } };
}

async function describeOnnx(bytes: Uint8Array, pool: WorkerPool): Promise<Described> {
  const session = await createNodeBackend({ threads: 1, pool }).createSession(bytes);
  try {
    return { ...(await probeOnnxGeometry(session)), architecture: 'onnx' };
  } catch (error) {
    throw new BadCheckpointError(`The ONNX file cannot be used as an upscaler: ${(error as Error).message}`, { cause: error });
  } finally {
    await session.release();
  }
}
