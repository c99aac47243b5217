/** Element types a PyTorch checkpoint can hold (names as torch prints them). */
export type DType =
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'float64'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool';

export type TensorValues =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

/**
 * One tensor of a state dict, materialised contiguous in row-major order. `dtype` is the stored
 * type; float16 and bfloat16 are widened to Float32Array when read, so `data` is always usable.
 */
export interface TensorEntry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorValues;
}

/** Tensor name -> tensor, in the checkpoint's order. */
export type StateDict = Map<string, TensorEntry>;

export type CheckpointFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors';

export interface Checkpoint {
  readonly format: CheckpointFormat;
  /** The key under which the state dict was nested (`params_ema`, `params`, ...), if any. */
  readonly nestedKey?: string;
  readonly stateDict: StateDict;
}

/**
 * A tensor storage as a pickle's persistent id names it. `bytes()` is resolved by the container
 * format (a zip entry, or the legacy format's trailing records, which come after the pickle).
 */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly dtype: DType;
  /** Element count declared by the checkpoint. */
  readonly numel: number;
  readonly littleEndian: boolean;
  bytes(): Uint8Array;
}

/**
 * A tensor as `torch._utils._rebuild_tensor_v2` describes it: a strided view of a storage.
 * It is materialised into a TensorEntry only when it belongs to the state dict that is returned.
 */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}
