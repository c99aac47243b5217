import { BadCheckpointError } from '@superres/core';
import { describe } from './pickle.js';
import { DTYPE_ITEM_SIZE, isTensorRef } from './torch-globals.js';
import type { DType, StateDict, StorageRef, TensorEntry, TensorRef, TensorValues } from './types.js';

/**
 * Finds the state dict in an unpickled checkpoint and materialises its tensors. Only the chosen
 * dict's tensors are read from their storages, so optimiser state or EMA copies we skip cost
 * nothing.
 */

/** Where training code nests the weights, most wanted first (EMA weights beat raw ones). */
export const STATE_DICT_KEYS: readonly string[] = [
  'params_ema', 'params', 'state_dict', 'model_state_dict', 'model', 'net', 'net_g', 'generator', 'g_ema', 'module',
];

export interface ExtractedStateDict {
  /** The key under which the state dict was nested; absent when the root is the state dict. */
  readonly nestedKey?: string;
  readonly stateDict: StateDict;
}

export interface ExtractOptions {
  /**
   * Most bytes the state dict may materialise (its tensors, contiguous, float16 widened) and
   * read from its storages; checked before anything is allocated. Default: unbounded.
   */
  maxBytes?: number;
}

export function extractStateDict(value: unknown, options: ExtractOptions = {}): ExtractedStateDict {
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (isStateDict(value)) return { stateDict: materialise(value, maxBytes) };
  if (value instanceof Map) {
    for (const key of STATE_DICT_KEYS) {
      const nested = value.get(key);
      if (isStateDict(nested)) return { nestedKey: key, stateDict: materialise(nested, maxBytes) };
    }
    // Unknown trainer layouts: take the first top-level dict of tensors.
    for (const [key, nested] of value) {
      if (typeof key === 'string' && isStateDict(nested)) return { nestedKey: key, stateDict: materialise(nested, maxBytes) };
    }
    const keys = [...value.keys()].map((k) => (typeof k === 'string' ? k : describe(k)));
    throw new BadCheckpointError(
      `Checkpoint has no state dict (a dict of tensors) at the top level or under ${STATE_DICT_KEYS.join(', ')}; top-level keys: ${keys.slice(0, 20).join(', ') || 'none'}`,
      { details: { keys: keys.slice(0, 100) } },
    );
  }
  throw new BadCheckpointError(`Checkpoint has no state dict: its root object is ${describe(value)}, not a dict`);
}

/**
 * A dict with string keys and at least one tensor, whose other values are plain scalars (rare,
 * ignored). A dict holding dicts or lists is a container of state dicts, not one itself.
 */
function isStateDict(value: unknown): value is Map<string, unknown> {
  if (!(value instanceof Map) || value.size === 0) return false;
  let tensors = 0;
  for (const [key, v] of value) {
    if (typeof key !== 'string') return false;
    if (isTensorRef(v)) tensors++;
    else if (typeof v === 'object' && v !== null) return false;
  }
  return tensors > 0;
}

function materialise(dict: Map<string, unknown>, maxBytes: number): StateDict {
  checkBudget(dict, maxBytes);
  const views = new Map<StorageRef, NativeArray>();
  const out: StateDict = new Map();
  for (const [key, v] of dict) {
    if (isTensorRef(v)) out.set(key, materializeTensor(v, views));
  }
  return out;
}

/**
 * Refuses, before allocating, a state dict whose tensors would take more than `maxBytes`: views
 * are counted by their expanded size (a stride-0 view of one float costs its whole shape), and
 * each storage they read once (a compressed one is inflated whole).
 */
function checkBudget(dict: Map<string, unknown>, maxBytes: number): void {
  if (!Number.isFinite(maxBytes)) return;
  let tensorBytes = 0;
  const storages = new Set<StorageRef>();
  for (const v of dict.values()) {
    if (!isTensorRef(v)) continue;
    const count = v.shape.reduce((a, b) => a * b, 1);
    tensorBytes += count * OUTPUT_ITEM_SIZE[v.storage.dtype];
    storages.add(v.storage);
  }
  let storageBytes = 0;
  for (const storage of storages) storageBytes += storage.numel * DTYPE_ITEM_SIZE[storage.dtype];
  if (tensorBytes + storageBytes > maxBytes) {
    throw new BadCheckpointError(
      `Checkpoint would take ${tensorBytes + storageBytes} bytes to read (${tensorBytes} in tensors, ${storageBytes} in storages), more than the ${maxBytes} its file size allows: ` +
        'its tensors are views far larger than the data stored (stride 0 or overlapping), or it declares storages it does not hold',
      { details: { tensorBytes, storageBytes, maxBytes } },
    );
  }
}

/** Bytes per element once materialised: float16 and bfloat16 are widened to float32. */
const OUTPUT_ITEM_SIZE: Record<DType, number> = { ...DTYPE_ITEM_SIZE, float16: 4, bfloat16: 4 };

type NativeArray = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | BigInt64Array;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies a strided view into a fresh contiguous row-major array (so the result owns its memory
 * and the file buffer can be dropped); float16/bfloat16 are widened to float32.
 * `views` caches each storage's native-endian, aligned array across the tensors sharing it.
 */
export function materializeTensor(t: TensorRef, views: Map<StorageRef, NativeArray> = new Map()): TensorEntry {
  const { storage, offset, shape, stride } = t;
  let src = views.get(storage);
  if (!src) {
    src = nativeArray(storage);
    views.set(storage, src);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const dst = newLike(src, count);
  if (count > 0) copyStrided(src, dst, offset, shape, stride);
  return { dtype: storage.dtype, shape: [...shape], data: widen(storage.dtype, dst) };
}

/** The storage as a typed array in host byte order; a view of the input when already aligned. */
function nativeArray(storage: StorageRef): NativeArray {
  const size = DTYPE_ITEM_SIZE[storage.dtype];
  const bytes = storage.bytes();
  const byteLength = storage.numel * size;
  if (bytes.length < byteLength) {
    throw new BadCheckpointError(
      `Storage ${storage.key} holds ${bytes.length} bytes, fewer than its ${storage.numel} ${storage.dtype} elements need`,
      { details: { storage: storage.key } },
    );
  }
  let raw = bytes.subarray(0, byteLength);
  const swap = size > 1 && storage.littleEndian !== HOST_LITTLE_ENDIAN;
  if (swap || raw.byteOffset % size !== 0) {
    raw = raw.slice();
    if (swap) swapBytes(raw, size);
  }
  const ctor = NATIVE[storage.dtype];
  return new ctor(raw.buffer as ArrayBuffer, raw.byteOffset, storage.numel);
}

const NATIVE: Record<DType, new (buffer: ArrayBuffer, byteOffset: number, length: number) => NativeArray> = {
  float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array, float64: Float64Array,
  uint8: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array,
};

function newLike(src: NativeArray, length: number): NativeArray {
  return new (src.constructor as new (length: number) => NativeArray)(length);
}

function swapBytes(raw: Uint8Array, size: number): void {
  for (let i = 0; i < raw.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = raw[a] as number;
      raw[a] = raw[b] as number;
      raw[b] = t;
    }
  }
}

/** Row-major walk over `shape`; the innermost dimension is a plain strided loop. */
function copyStrided(src: NativeArray, dst: NativeArray, offset: number, shape: readonly number[], stride: readonly number[]): void {
  const d = shape.length;
  if (isContiguous(shape, stride)) {
    (dst as Uint8Array).set((src as Uint8Array).subarray(offset, offset + dst.length));
    return;
  }
  const s = src as unknown as number[];
  const o = dst as unknown as number[];
  const innerSize = shape[d - 1] as number;
  const innerStride = stride[d - 1] as number;
  const index = new Array<number>(Math.max(0, d - 1)).fill(0);
  let base = offset;
  for (let w = 0; w < dst.length; w += innerSize) {
    for (let i = 0, p = base; i < innerSize; i++, p += innerStride) o[w + i] = s[p] as number;
    // Odometer over the outer dimensions.
    for (let k = d - 2; k >= 0; k--) {
      base += stride[k] as number;
      if (++(index[k] as number) < (shape[k] as number)) break;
      base -= (stride[k] as number) * (shape[k] as number);
      index[k] = 0;
    }
  }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if ((shape[k] as number) !== 1 && stride[k] !== expected) return false;
    expected *= shape[k] as number;
  }
  return true;
}

/** float16/bfloat16 bits -> Float32Array; other types are already usable. */
function widen(dtype: DType, raw: NativeArray): TensorValues {
  if (dtype === 'bfloat16') {
    const out = new Float32Array(raw.length);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < raw.length; i++) bits[i] = (raw[i] as number) << 16;
    return out;
  }
  if (dtype === 'float16') {
    const table = halfTable();
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = table[raw[i] as number] as number;
    return out;
  }
  return raw as TensorValues;
}

let HALF_TABLE: Float32Array | undefined;

/** All 65536 float16 values, built once: a lookup beats bit twiddling per element. */
function halfTable(): Float32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 31) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  HALF_TABLE = table;
  return table;
}
