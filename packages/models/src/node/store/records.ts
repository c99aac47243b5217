import { open, readFile } from 'node:fs/promises';
import { BadCheckpointError, ChecksumError, type ModelGeometry, type ModelKind } from '@superres/core';
import type { ModelFileFormat } from '../../plugins/detect-format.js';

const SHA256 = /^[0-9a-f]{64}$/;
const KINDS: readonly ModelKind[] = ['upscaler', 'face-restorer', 'face-detector', 'face-parser'];

/** The sha256 recorded at a model's first download, or undefined when none is recorded. */
export async function readTofuRecord(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const sha = text.trim().split(/\s+/)[0] ?? '';
  if (!SHA256.test(sha)) throw new ChecksumError(`The checksum record ${path} is damaged; remove the model and pull it again`);
  return sha;
}

/**
 * Records `sha256` as the trusted hash (trust on first use). Created exclusively, so of two
 * processes racing on a first download only one record wins; the loser is checked against it.
 * Returns the hash now on record.
 */
export async function recordTofu(path: string, sha256: string, fileName: string): Promise<string> {
  try {
    const handle = await open(path, 'wx');
    try {
      // sha256sum's format, so `sha256sum -c` can check the store by hand.
      await handle.writeFile(`${sha256}  ${fileName}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return sha256;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // The winner may still be writing its one line: wait for it briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        const recorded = await readTofuRecord(path);
        if (recorded) return recorded;
      } catch (damaged) {
        if (attempt >= 20) throw damaged;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** What `import` writes beside an imported file, as `<id>.json`. */
export interface ImportRecord extends ModelGeometry {
  readonly version: 1;
  readonly id: string;
  /** The imported file's name inside the store. */
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: ModelFileFormat;
  /** Architecture read from the tensors; `onnx` for an ONNX file. */
  readonly architecture: string;
  /** Absent in records written before face models existed: an upscaler. */
  readonly kind?: ModelKind;
  readonly hyperparameters?: Record<string, unknown>;
  /** What the checkpoint could not say for itself (activation, ...), given at import. */
  readonly overrides?: Record<string, unknown>;
  /** The path it was imported from. */
  readonly source: string;
  readonly importedAt: string;
}

export async function readImportRecord(path: string): Promise<ImportRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let value: Partial<ImportRecord>;
  try {
    value = JSON.parse(text) as Partial<ImportRecord>;
  } catch (cause) {
    throw new BadCheckpointError(`The import record ${path} is not valid JSON`, { cause });
  }
  const ok =
    value?.version === 1 &&
    typeof value.id === 'string' &&
    typeof value.file === 'string' &&
    !value.file.includes('/') &&
    !value.file.includes('\\') &&
    typeof value.sha256 === 'string' &&
    SHA256.test(value.sha256) &&
    typeof value.format === 'string' &&
    typeof value.architecture === 'string' &&
    (value.kind === undefined || KINDS.includes(value.kind)) &&
    [value.scale, value.alignment, value.receptiveRadius, value.bytes].every((n) => Number.isInteger(n) && (n as number) >= 0);
  if (!ok) throw new BadCheckpointError(`The import record ${path} is damaged; import the model again`);
  return value as ImportRecord;
}
