import { BadCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { extractStateDict, materializeTensor } from './state-dict.js';
import type { DType, StorageRef, TensorRef } from './types.js';

function storage(dtype: DType, bytes: Uint8Array, numel: number, littleEndian = true): StorageRef {
  return { kind: 'storage', key: 'k', dtype, numel, littleEndian, bytes: () => bytes };
}
const f32 = (values: number[]): StorageRef => storage('float32', new Uint8Array(new Float32Array(values).buffer), values.length);
const u16 = (dtype: DType, bits: number[]): StorageRef => storage(dtype, new Uint8Array(new Uint16Array(bits).buffer), bits.length);
const tensor = (s: StorageRef, shape: number[], stride: number[], offset = 0): TensorRef => ({ kind: 'tensor', storage: s, offset, shape, stride });
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('materializeTensor', () => {
  it('copies contiguous data into a buffer it owns', () => {
    const s = f32([1, 2, 3, 4, 5, 6]);
    const entry = materializeTensor(tensor(s, [2, 2], [2, 1], 2));
    expect(entry).toEqual({ dtype: 'float32', shape: [2, 2], data: new Float32Array([3, 4, 5, 6]) });
    expect(entry.data.buffer).not.toBe(s.bytes().buffer);
  });

  it('walks non-contiguous strides in row-major order', () => {
    const s = f32(range(24));
    // A (2,3,4) tensor's transpose(0, 2): shape (4,3,2), stride (1,4,12).
    const t = materializeTensor(tensor(s, [4, 3, 2], [1, 4, 12]));
    const expected: number[] = [];
    for (let a = 0; a < 4; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 2; c++) expected.push(a + 4 * b + 12 * c);
    expect([...t.data]).toEqual(expected);
    // base[1:, ::2] of a 4x5: offset 5, stride (5, 2).
    expect([...materializeTensor(tensor(f32(range(20)), [3, 3], [5, 2], 5)).data]).toEqual([5, 7, 9, 10, 12, 14, 15, 17, 19]);
    // expand: stride 0.
    expect([...materializeTensor(tensor(f32([1, 2]), [3, 2], [0, 1])).data]).toEqual([1, 2, 1, 2, 1, 2]);
    // 1-D strided.
    expect([...materializeTensor(tensor(f32(range(6)), [3], [2], 1)).data]).toEqual([1, 3, 5]);
  });

  it('handles scalars and empty tensors', () => {
    expect(materializeTensor(tensor(f32([7, 8]), [], [], 1))).toEqual({ dtype: 'float32', shape: [], data: new Float32Array([8]) });
    expect(materializeTensor(tensor(f32([]), [0, 3], [3, 1])).data).toEqual(new Float32Array(0));
  });

  it('widens float16 and bfloat16 to float32, strided too', () => {
    // float16 bits: 1, -2, 65504, smallest subnormal 2^-24, inf, -inf, -0, NaN.
    const half = materializeTensor(tensor(u16('float16', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x7e00]), [8], [1]));
    expect(half.dtype).toBe('float16');
    expect(half.data).toBeInstanceOf(Float32Array);
    expect([...half.data]).toEqual([1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0, NaN]);
    // bfloat16 bits: 1, -3.140625, 1e30 rounded, -inf; read as a 2x2 transpose.
    const bf = materializeTensor(tensor(u16('bfloat16', [0x3f80, 0xc049, 0x7149, 0xff80]), [2, 2], [1, 2]));
    expect([...bf.data]).toEqual([1, new Float32Array(new Uint32Array([0x71490000]).buffer)[0], -3.140625, -Infinity]);
  });

  it('swaps big-endian storages and copes with unaligned bytes', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2, false);
    expect([...materializeTensor(tensor(storage('float32', be, 2, false), [2], [1])).data]).toEqual([1.5, -2]);
    const i64 = new Uint8Array(17);
    new DataView(i64.buffer).setBigInt64(1, -(2n ** 62n), true);
    new DataView(i64.buffer).setBigInt64(9, 2n ** 53n + 1n, true);
    const t = materializeTensor(tensor(storage('int64', i64.subarray(1), 2), [2], [1]));
    expect(t.data).toEqual(new BigInt64Array([-(2n ** 62n), 2n ** 53n + 1n]));
    const beI16 = Uint8Array.of(0xff, 0xfe, 0x01, 0x02);
    expect([...materializeTensor(tensor(storage('int16', beI16, 2, false), [2], [1])).data]).toEqual([-2, 258]);
  });

  it('keeps integer and bool types', () => {
    const bools = materializeTensor(tensor(storage('bool', Uint8Array.of(1, 0, 1), 3), [3], [1]));
    expect(bools).toEqual({ dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) });
    expect(materializeTensor(tensor(storage('int8', Uint8Array.of(0xff, 2), 2), [2], [1])).data).toEqual(Int8Array.of(-1, 2));
  });

  it('refuses a storage shorter than its declared elements', () => {
    expect(() => materializeTensor(tensor(storage('float32', new Uint8Array(6), 2), [2], [1]))).toThrow(BadCheckpointError);
  });
});

describe('extractStateDict', () => {
  const t = tensor(f32([1, 2]), [2], [1]);

  it('takes the root when it is a dict of tensors, ignoring stray scalars', () => {
    const { nestedKey, stateDict } = extractStateDict(new Map<string, unknown>([['a', t], ['version', 3], ['b', t]]));
    expect(nestedKey).toBeUndefined();
    expect([...stateDict.keys()]).toEqual(['a', 'b']);
    expect(stateDict.get('b')?.data).toEqual(new Float32Array([1, 2]));
  });

  it('prefers params_ema, then params, state_dict, model, net, generator', () => {
    const root = new Map<string, unknown>([
      ['params', new Map([['p', t]])],
      ['params_ema', new Map([['e', t]])],
      ['iter', 5],
    ]);
    const found = extractStateDict(root);
    expect(found.nestedKey).toBe('params_ema');
    expect([...found.stateDict.keys()]).toEqual(['e']);
    for (const key of ['params', 'state_dict', 'model', 'net', 'generator']) {
      expect(extractStateDict(new Map<string, unknown>([['epoch', 1], [key, new Map([['w', t]])]])).nestedKey).toBe(key);
    }
    // Unknown layouts: the first dict of tensors.
    expect(extractStateDict(new Map<string, unknown>([['optimizer', new Map()], ['weights', new Map([['w', t]])]])).nestedKey).toBe('weights');
  });

  it('reports the top-level keys when there is no state dict', () => {
    const error = (() => {
      try {
        extractStateDict(new Map<string, unknown>([['epoch', 3], ['optimizer', new Map([['state', new Map()]])]]));
      } catch (e) {
        return e as BadCheckpointError;
      }
      throw new Error('expected an error');
    })();
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/no state dict/);
    expect(error.message).toContain('epoch, optimizer');
    expect(() => extractStateDict([t])).toThrow(/no state dict.*a list of 1/);
    expect(() => extractStateDict(new Map())).toThrow(/no state dict/);
  });

  it('does not take a dict that nests containers as a state dict', () => {
    const root = new Map<string, unknown>([['w', t], ['opt', new Map([['x', t]])]]);
    expect(extractStateDict(root).nestedKey).toBe('opt');
  });
});
