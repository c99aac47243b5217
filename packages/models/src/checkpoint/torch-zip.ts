import { checkpointByteBudget } from './budget.js';
import { BadCheckpointError } from '@superres/core';
import { unpickle } from './pickle.js';
import { DTYPE_ITEM_SIZE, parseStoragePid, resolveTorchGlobal } from './torch-globals.js';
import type { StorageRef } from './types.js';
import { readZip, type ZipArchive } from './zip.js';

/**
 * The PyTorch zip format (torch >= 1.6, `torch.save` default): `<prefix>/data.pkl` is the pickle,
 * `<prefix>/data/<key>` each storage's raw bytes, `<prefix>/byteorder` (torch >= 2.1) their
 * byte order. The prefix is `archive` or the saved file's stem, so it is found, not assumed.
 */
export interface TorchZipContents {
  /** The top folder, without the slash. */
  readonly prefix: string;
  readonly littleEndian: boolean;
  /** The unpickled root object; tensors in it are TensorRefs (see state-dict.ts). */
  readonly root: unknown;
}

export function readTorchZip(bytes: Uint8Array): TorchZipContents {
  const zip = readZip(bytes, { maxInflatedBytes: checkpointByteBudget(bytes.length) });
  const prefix = findPrefix(zip);
  const littleEndian = readByteOrder(zip, prefix);
  const pickle = entryData(zip, `${prefix}/data.pkl`);

  // Several tensors may share one storage; each key is looked up (and checked) once per dtype.
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    const { dtype, key, numel } = parseStoragePid(pid);
    const cacheKey = `${key}\u0000${dtype}`;
    const cached = storages.get(cacheKey);
    if (cached) return cached;
    const name = `${prefix}/data/${key}`;
    const entry = zip.entries.get(name);
    if (!entry) throw new BadCheckpointError(`Checkpoint pickle refers to storage "${key}", but the archive has no "${name}"`);
    const expected = numel * DTYPE_ITEM_SIZE[dtype];
    if (entry.size !== expected) {
      throw new BadCheckpointError(
        `Storage "${name}" holds ${entry.size} bytes, but the checkpoint declares ${numel} ${dtype} elements (${expected} bytes)`,
        { details: { storage: key } },
      );
    }
    const storage: StorageRef = { kind: 'storage', key, dtype, numel, littleEndian, bytes: () => entry.data() };
    storages.set(cacheKey, storage);
    return storage;
  };

  const { value } = unpickle(pickle, { resolveGlobal: resolveTorchGlobal, persistentLoad });
  return { prefix, littleEndian, root: value };
}

function findPrefix(zip: ZipArchive): string {
  for (const name of zip.entries.keys()) {
    const match = /^([^/]+)\/data\.pkl$/.exec(name);
    if (match) return match[1] as string;
  }
  const names = [...zip.entries.keys()].slice(0, 5);
  throw new BadCheckpointError(
    `Zip archive is not a PyTorch checkpoint: no "<folder>/data.pkl" entry (entries: ${names.join(', ') || 'none'}${zip.entries.size > 5 ? ', ...' : ''})`,
  );
}

function readByteOrder(zip: ZipArchive, prefix: string): boolean {
  const entry = zip.entries.get(`${prefix}/byteorder`);
  if (!entry) return true; // written since torch 2.1; older archives are little-endian
  const order = new TextDecoder().decode(entry.data()).trim();
  if (order === 'little') return true;
  if (order === 'big') return false;
  throw new BadCheckpointError(`Checkpoint byteorder record says "${order.slice(0, 20)}"; expected "little" or "big"`);
}

function entryData(zip: ZipArchive, name: string): Uint8Array {
  const entry = zip.entries.get(name);
  if (!entry) throw new BadCheckpointError(`Checkpoint archive has no "${name}"`);
  return entry.data();
}
