import { BadCheckpointError } from '@superres/core';
import { describe, isTuple, makeTuple, type GlobalResolver, type PyCallable } from './pickle.js';
import type { DType, StorageRef, TensorRef } from './types.js';

/**
 * The allow-list of Python globals a state-dict pickle may name, each implemented here as pure
 * data construction. Anything not listed is refused by the unpickler (UnsafeCheckpointError).
 * Shared by the zip format and the legacy format, whose persistent ids have the same shape.
 */

/** `torch.FloatStorage` and friends: only ever used as the storage type in a persistent id. */
export interface StorageTypeRef {
  readonly kind: 'storage-type';
  readonly name: string;
  readonly dtype: DType;
}

/** `torch.float32` and friends: newer torch puts a dtype where the storage type used to be. */
export interface DTypeRef {
  readonly kind: 'dtype';
  readonly name: string;
  readonly dtype: DType;
}

/** Largest tensor we materialise; a stride-0 view of a tiny storage must not expand to gigabytes. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

export const DTYPE_ITEM_SIZE: Readonly<Record<DType, number>> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, uint8: 1, int8: 1, int16: 2, int32: 4, int64: 8, bool: 1,
};

const STORAGE_TYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  ByteStorage: 'uint8', CharStorage: 'int8', ShortStorage: 'int16', IntStorage: 'int32',
  LongStorage: 'int64', BoolStorage: 'bool',
  // An untyped storage is bytes; torch 2 names it when a storage was saved without a dtype.
  UntypedStorage: 'uint8',
};

/** Storage types torch has but we cannot hold: a clear "unsupported" beats "forbidden global". */
const UNSUPPORTED_STORAGE_TYPES = new Set([
  'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage',
  'QUInt4x2Storage', 'QUInt2x4Storage',
]);

const DTYPES: readonly DType[] = [
  'float32', 'float16', 'bfloat16', 'float64', 'uint8', 'int8', 'int16', 'int32', 'int64', 'bool',
];

const fn = (name: string, call: (args: readonly unknown[]) => unknown, construct?: PyCallable['construct']): PyCallable =>
  construct ? { kind: 'callable', name, call, construct } : { kind: 'callable', name, call };

const orderedDict = fn('collections.OrderedDict', (args) => dictFrom(args), () => new Map());
const setOf = (name: string): PyCallable => fn(name, (args) => new Set(iterableArg(name, args)));
const bytesOf = (name: string): PyCallable => fn(name, (args) => bytesFrom(name, args));

const CALLABLES: ReadonlyMap<string, PyCallable> = new Map<string, PyCallable>([
  ['collections.OrderedDict', orderedDict],
  ['torch._utils._rebuild_tensor_v2', fn('torch._utils._rebuild_tensor_v2', (a) => rebuildTensor('_rebuild_tensor_v2', a))],
  ['torch._utils._rebuild_tensor', fn('torch._utils._rebuild_tensor', (a) => rebuildTensor('_rebuild_tensor', a))],
  ['torch._utils._rebuild_parameter', fn('torch._utils._rebuild_parameter', (a) => parameterData(a))],
  ['torch._utils._rebuild_parameter_with_state', fn('torch._utils._rebuild_parameter_with_state', (a) => parameterData(a))],
  ['torch.Size', fn('torch.Size', (a) => makeTuple([...iterableArg('torch.Size', a)]))],
  ['builtins.set', setOf('builtins.set')],
  ['builtins.frozenset', setOf('builtins.frozenset')],
  ['builtins.bytes', bytesOf('builtins.bytes')],
  ['builtins.bytearray', bytesOf('builtins.bytearray')],
  ['_codecs.encode', fn('_codecs.encode', (a) => codecsEncode(a))],
]);

/** Resolves `module.name` against the allow-list; undefined means forbidden. */
export const resolveTorchGlobal: GlobalResolver = (module, name) => {
  // Protocol 2 pickles written by Python 3 name builtins by their Python 2 module.
  const mod = module === '__builtin__' ? 'builtins' : module;
  const qualified = `${mod}.${name}`;
  const callable = CALLABLES.get(qualified);
  if (callable) return callable;
  if (mod === 'torch' || mod === 'torch.storage') {
    const storageDtype = STORAGE_TYPES[name];
    if (storageDtype) return { kind: 'storage-type', name: qualified, dtype: storageDtype } satisfies StorageTypeRef;
    if (UNSUPPORTED_STORAGE_TYPES.has(name)) {
      throw new BadCheckpointError(`Checkpoint holds tensors of an unsupported storage type "${qualified}"`, {
        details: { global: qualified },
      });
    }
  }
  if (mod === 'torch' && (DTYPES as readonly string[]).includes(name)) {
    return { kind: 'dtype', name: qualified, dtype: name as DType } satisfies DTypeRef;
  }
  return undefined;
};

export interface StoragePid {
  readonly dtype: DType;
  readonly key: string;
  readonly location: string;
  /** Elements of `dtype`. */
  readonly numel: number;
  /** Legacy format only: `(view_key, offset, view_size)` of a storage view. */
  readonly viewMetadata?: unknown;
}

/** Parses `('storage', storage_type, key, location, numel[, view_metadata])`. */
export function parseStoragePid(pid: unknown): StoragePid {
  if (!isTuple(pid) || pid[0] !== 'storage' || pid.length < 5 || pid.length > 6) {
    throw new BadCheckpointError(`Checkpoint has an unknown persistent id (${describe(pid)}); expected a ('storage', ...) tuple`);
  }
  const [, type, key, location, numel] = pid;
  const dtype = (type as Partial<StorageTypeRef | DTypeRef> | null)?.dtype;
  const kind = (type as { kind?: unknown } | null)?.kind;
  if (!dtype || (kind !== 'storage-type' && kind !== 'dtype')) {
    throw new BadCheckpointError(`Checkpoint storage id names ${describe(type)} where a storage type or dtype belongs`);
  }
  if (typeof key !== 'string' && !(typeof key === 'number' && Number.isInteger(key))) {
    throw new BadCheckpointError(`Checkpoint storage id has key ${describe(key)}; expected a string`);
  }
  if (typeof location !== 'string') throw new BadCheckpointError(`Checkpoint storage ${key} has no location string`);
  const n = nonNegativeInt(numel, `element count of storage ${key}`);
  return pid.length === 6 ? { dtype, key: String(key), location, numel: n, viewMetadata: pid[5] } : { dtype, key: String(key), location, numel: n };
}

export function isStorageRef(value: unknown): value is StorageRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'storage';
}

export function isTensorRef(value: unknown): value is TensorRef {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'tensor';
}

/**
 * `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`
 * and the older `_rebuild_tensor(storage, storage_offset, size, stride)`: a strided view, checked
 * here against the storage's declared element count.
 */
function rebuildTensor(fnName: string, args: readonly unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (args.length < 4 || !isStorageRef(storage)) {
    throw new BadCheckpointError(`${fnName} expects (storage, offset, size, stride, ...), got ${args.length} arguments`);
  }
  const shape = intTuple(size, 'size', storage.key);
  const strides = intTuple(stride, 'stride', storage.key);
  if (shape.length !== strides.length) {
    throw new BadCheckpointError(`Tensor on storage ${storage.key} has ${shape.length} sizes but ${strides.length} strides`);
  }
  const start = nonNegativeInt(offset, `offset into storage ${storage.key}`);
  const elements = shape.reduce((a, b) => a * b, 1);
  if (elements > MAX_TENSOR_ELEMENTS) {
    throw new BadCheckpointError(`Tensor of shape [${shape.join(', ')}] exceeds ${MAX_TENSOR_ELEMENTS} elements`);
  }
  if (elements > 0) {
    let last = start;
    shape.forEach((dim, i) => (last += (dim - 1) * (strides[i] as number)));
    if (last >= storage.numel) {
      throw new BadCheckpointError(
        `Tensor of shape [${shape.join(', ')}], stride [${strides.join(', ')}], offset ${start} reads element ${last} of storage ${storage.key}, which holds ${storage.numel}`,
        { details: { storage: storage.key } },
      );
    }
  }
  return { kind: 'tensor', storage, offset: start, shape, stride: strides };
}

/** `_rebuild_parameter(data, requires_grad, backward_hooks[, state])`: a Parameter is its data. */
function parameterData(args: readonly unknown[]): TensorRef {
  const data = args[0];
  if (!isTensorRef(data)) throw new BadCheckpointError(`_rebuild_parameter expects a tensor, got ${describe(data)}`);
  return data;
}

/** `OrderedDict()` or `OrderedDict([(k, v), ...])`. */
function dictFrom(args: readonly unknown[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  if (args.length === 0) return map;
  if (args[0] instanceof Map) return new Map(args[0]);
  for (const pair of iterableArg('collections.OrderedDict', args)) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new BadCheckpointError('OrderedDict expects (key, value) pairs');
    map.set(pair[0], pair[1]);
  }
  return map;
}

function iterableArg(name: string, args: readonly unknown[]): Iterable<unknown> {
  if (args.length === 0) return [];
  const a = args[0];
  if (args.length === 1 && (Array.isArray(a) || a instanceof Set)) return a;
  throw new BadCheckpointError(`${name} expects one list or tuple argument, got ${describe(a)}`);
}

/** `bytes()`, `bytes(b'..')`, `bytearray(...)` and `bytes([ints])` as protocol 2 writes them. */
function bytesFrom(name: string, args: readonly unknown[]): Uint8Array {
  if (args.length === 0) return new Uint8Array(0);
  const a = args[0];
  if (args.length === 1 && a instanceof Uint8Array) return a.slice();
  if (args.length === 1 && Array.isArray(a) && a.every((v) => Number.isInteger(v) && v >= 0 && v < 256)) {
    return Uint8Array.from(a as number[]);
  }
  throw new BadCheckpointError(`${name} called with unsupported arguments (${describe(a)})`);
}

/** `_codecs.encode(text, 'latin1')`: how protocol 2 stores Python 3 bytes. Pure conversion. */
function codecsEncode(args: readonly unknown[]): Uint8Array {
  const [text, encoding = 'utf-8'] = args;
  if (typeof text !== 'string' || typeof encoding !== 'string') {
    throw new BadCheckpointError('_codecs.encode expects (str, encoding)');
  }
  const enc = encoding.toLowerCase().replace(/_/g, '-');
  if (enc === 'latin1' || enc === 'latin-1' || enc === 'iso-8859-1') {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0xff) throw new BadCheckpointError('_codecs.encode: character outside latin-1');
      out[i] = c;
    }
    return out;
  }
  if (enc === 'utf-8' || enc === 'utf8') return new TextEncoder().encode(text);
  throw new BadCheckpointError(`_codecs.encode with unsupported encoding "${encoding}"`);
}

function intTuple(value: unknown, what: string, key: string): number[] {
  if (!Array.isArray(value)) throw new BadCheckpointError(`Tensor ${what} on storage ${key} is ${describe(value)}, not a tuple`);
  return value.map((v) => nonNegativeInt(v, `tensor ${what} on storage ${key}`));
}

function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new BadCheckpointError(`Checkpoint has ${describe(value)} as the ${what}; expected a non-negative integer`);
  }
  return value;
}
