import { mkdir, readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BadCheckpointError, DuplicateModelError, type ModelGeometry, type ModelRegistry } from '@superres/core';
import type { ArchitectureOverrides } from '../../architectures/detect.js';
import { detectModelFormat } from '../../plugins/detect-format.js';
import { probeOnnxGeometry } from '../../plugins/probe-onnx.js';
import { createNodeBackend } from '../backend.js';
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
 * read and its graph built (or, for ONNX, run once) now, so a broken file is refused here.
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
  const bytes = new Uint8Array(await readFile(file));
  const format = detectModelFormat(bytes);
  const pool = options.pool ?? sharedWorkerPool();
  const described = format === 'onnx' ? await describeOnnx(bytes, pool) : await describeCheckpoint(bytes, options.overrides, pool);
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
