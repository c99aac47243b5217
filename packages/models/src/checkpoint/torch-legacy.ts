import { BadCheckpointError } from '@superres/core';
import { describe, isTuple, unpickle } from './pickle.js';
import { DTYPE_ITEM_SIZE, parseStoragePid, resolveTorchGlobal, type StoragePid } from './torch-globals.js';
import type { StorageRef } from './types.js';

/**
 * The legacy PyTorch format (`torch.save` before 1.6, or `_use_new_zipfile_serialization=False`),
 * as torch/serialization.py `_legacy_save` writes it: pickles back to back, then raw storages.
 *
 *   1. the magic number 0x1950a86a20f9469cfc6c
 *   2. the format version, 1001
 *   3. sys_info: `{ protocol_version, little_endian, type_sizes }`
 *   4. the object, tensors naming storages by persistent id
 *      `('storage', storage_type, root_key, location, numel, view_metadata)`
 *   5. the list of root storage keys, in the order their records follow
 *   6. per key: the element count (int64 little-endian) then the elements, little-endian
 *      (the writer converts on big-endian hosts).
 *
 * Nothing is trusted: every count is checked against the pickle and the bytes that are left.
 */

export const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
export const LEGACY_PROTOCOL_VERSION = 1001;

/** The magic pickle's LONG1 (0x8a, 10 bytes): after PROTO 2/3, or after PROTO and FRAME for 4/5. */
const MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/** Protocols 0 and 1 write the magic number as text. */
const MAGIC_TEXT = 'L1195470371460388013';

export interface TorchLegacyContents {
  /** sys_info.little_endian of the machine that saved it (storage records are little-endian anyway). */
  readonly savedLittleEndian: boolean;
  /** The unpickled root object; tensors in it are TensorRefs (see state-dict.ts). */
  readonly root: unknown;
}

/** True when the bytes open with the legacy format's magic-number pickle. */
export function looksLikeTorchLegacy(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x80) return startsWith(bytes, 0, [...MAGIC_TEXT].map((c) => c.charCodeAt(0)));
  return startsWith(bytes, 2, MAGIC_LONG1) || (bytes[2] === 0x95 && startsWith(bytes, 11, MAGIC_LONG1));
}

/**
 * The oldest `torch.save` format (torch 0.1.x) was a tar archive of `sys_info`, `storages`,
 * `tensors` and `pickle` members; torch.load still tries it first. Recognised, not read.
 */
export function looksLikeTorchTar(bytes: Uint8Array): boolean {
  return startsWith(bytes, 257, [0x75, 0x73, 0x74, 0x61, 0x72]); // "ustar" in the tar header
}

interface RootStorage {
  readonly pid: StoragePid;
  readonly ref: StorageRef;
  data?: Uint8Array;
}

export function readTorchLegacy(bytes: Uint8Array): TorchLegacyContents {
  if (looksLikeTorchTar(bytes)) {
    throw new BadCheckpointError(
      'Checkpoint uses the tar-based PyTorch format of torch 0.1.x: tar format not supported; re-save it with a newer torch',
      { details: { format: 'pytorch-tar' } },
    );
  }
  const refuseGlobals = (): undefined => undefined;
  const magic = unpickle(bytes, { resolveGlobal: refuseGlobals });
  if (magic.value !== LEGACY_MAGIC_NUMBER) {
    throw new BadCheckpointError(`Not a legacy PyTorch checkpoint: its first pickle is ${describe(magic.value)}, not the torch.save magic number`);
  }
  const version = unpickle(bytes, { resolveGlobal: refuseGlobals, offset: magic.end });
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new BadCheckpointError(
      `Legacy PyTorch checkpoint has format version ${show(version.value)}; only ${LEGACY_PROTOCOL_VERSION} exists`,
    );
  }
  const sysInfo = unpickle(bytes, { resolveGlobal: refuseGlobals, offset: version.end });
  const savedLittleEndian = sysInfo.value instanceof Map ? sysInfo.value.get('little_endian') !== false : true;

  const roots = new Map<string, RootStorage>();
  const views = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    const parsed = parseStoragePid(pid);
    const root = rootStorage(roots, parsed);
    if (parsed.viewMetadata === undefined || parsed.viewMetadata === null) return root.ref;
    return viewStorage(views, root, parsed.viewMetadata);
  };
  const object = unpickle(bytes, { resolveGlobal: resolveTorchGlobal, persistentLoad, offset: sysInfo.end });

  const keyList = unpickle(bytes, { resolveGlobal: refuseGlobals, offset: object.end });
  const keys = storageKeys(keyList.value, roots);
  readStorageRecords(bytes, keyList.end, keys, roots, savedLittleEndian);
  return { savedLittleEndian, root: object.value };
}

function rootStorage(roots: Map<string, RootStorage>, pid: StoragePid): RootStorage {
  const known = roots.get(pid.key);
  if (known) {
    if (known.pid.dtype !== pid.dtype || known.pid.numel !== pid.numel) {
      throw new BadCheckpointError(
        `Legacy checkpoint names storage "${pid.key}" as ${pid.numel} ${pid.dtype} and as ${known.pid.numel} ${known.pid.dtype}`,
        { details: { storage: pid.key } },
      );
    }
    return known;
  }
  const root: RootStorage = {
    pid,
    ref: {
      kind: 'storage',
      key: pid.key,
      dtype: pid.dtype,
      numel: pid.numel,
      littleEndian: true,
      bytes: () => {
        // Records follow the pickle, so they are attached after it; readTorchLegacy checks all.
        if (!root.data) throw new BadCheckpointError(`Legacy checkpoint has no data record for storage "${pid.key}"`);
        return root.data;
      },
    },
  };
  roots.set(pid.key, root);
  return root;
}

/** `(view_key, offset, view_size)`: elements [offset, offset + view_size) of the root storage. */
function viewStorage(views: Map<string, StorageRef>, root: RootStorage, metadata: unknown): StorageRef {
  const [viewKey, offset, size] = isTuple(metadata) && metadata.length === 3 ? metadata : [];
  if (typeof viewKey !== 'string' || !isCount(offset) || !isCount(size)) {
    throw new BadCheckpointError(
      `Legacy checkpoint storage "${root.pid.key}" has view metadata ${describe(metadata)}; expected (key, offset, size)`,
    );
  }
  if (offset + size > root.pid.numel) {
    throw new BadCheckpointError(
      `Legacy checkpoint view "${viewKey}" covers elements ${offset}..${offset + size} of storage "${root.pid.key}", which holds ${root.pid.numel}`,
      { details: { storage: root.pid.key } },
    );
  }
  const known = views.get(viewKey);
  if (known) return known;
  const itemSize = DTYPE_ITEM_SIZE[root.pid.dtype];
  const view: StorageRef = {
    kind: 'storage',
    key: viewKey,
    dtype: root.pid.dtype,
    numel: size,
    littleEndian: true,
    bytes: () => root.ref.bytes().subarray(offset * itemSize, (offset + size) * itemSize),
  };
  views.set(viewKey, view);
  return view;
}

/** The key list must name each referenced root storage exactly once. */
function storageKeys(value: unknown, roots: ReadonlyMap<string, RootStorage>): string[] {
  if (!Array.isArray(value)) {
    throw new BadCheckpointError(`Legacy checkpoint storage key list is ${describe(value)}, not a list`);
  }
  const keys = value.map((k) => (typeof k === 'number' && Number.isSafeInteger(k) ? String(k) : k));
  const seen = new Set<string>();
  for (const key of keys) {
    if (typeof key !== 'string') throw new BadCheckpointError(`Legacy checkpoint storage key list holds ${describe(key)}`);
    if (!roots.has(key)) throw new BadCheckpointError(`Legacy checkpoint has a data record for storage "${key}", which no tensor uses`);
    if (seen.has(key)) throw new BadCheckpointError(`Legacy checkpoint lists storage "${key}" twice`);
    seen.add(key);
  }
  for (const key of roots.keys()) {
    if (!seen.has(key)) throw new BadCheckpointError(`Legacy checkpoint has no data record for storage "${key}"`);
  }
  return keys as string[];
}

function readStorageRecords(
  bytes: Uint8Array,
  start: number,
  keys: readonly string[],
  roots: ReadonlyMap<string, RootStorage>,
  savedLittleEndian: boolean,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  for (const key of keys) {
    const root = roots.get(key) as RootStorage;
    const { dtype, numel } = root.pid;
    if (bytes.length - pos < 8) truncated(key, 8, bytes.length - pos, pos);
    const count = recordCount(view, pos, numel, savedLittleEndian);
    if (count !== numel) {
      throw new BadCheckpointError(
        `Legacy checkpoint storage "${key}" has a record of ${show(count)} elements, but the pickle declares ${numel}`,
        { details: { storage: key, offset: pos } },
      );
    }
    pos += 8;
    const byteLength = numel * DTYPE_ITEM_SIZE[dtype];
    if (bytes.length - pos < byteLength) truncated(key, byteLength, bytes.length - pos, pos);
    root.data = bytes.subarray(pos, pos + byteLength);
    pos += byteLength;
  }
}

/**
 * The element count is little-endian since torch converts it; writers older than that wrote it
 * in the saving host's byte order, which sys_info records.
 */
function recordCount(view: DataView, pos: number, expected: number, savedLittleEndian: boolean): number | bigint {
  const le = view.getBigInt64(pos, true);
  if (le === BigInt(expected) || savedLittleEndian) return safe(le);
  return safe(view.getBigInt64(pos, false));
}

function safe(v: bigint): number | bigint {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function truncated(key: string, needed: number, left: number, offset: number): never {
  throw new BadCheckpointError(
    `Legacy checkpoint is truncated: storage "${key}" needs ${needed} bytes at byte ${offset}, ${Math.max(0, left)} left`,
    { details: { storage: key, offset } },
  );
}

/** Numbers as themselves, anything else described. */
function show(v: unknown): string {
  return typeof v === 'number' || typeof v === 'bigint' ? String(v) : describe(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function startsWith(bytes: Uint8Array, at: number, prefix: readonly number[]): boolean {
  if (bytes.length < at + prefix.length) return false;
  return prefix.every((b, i) => bytes[at + i] === b);
}
