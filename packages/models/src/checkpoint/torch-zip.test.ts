import { BadCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { PickleWriter } from './test-support/pickle-writer.js';
import { writeZip, type ZipInput } from './test-support/zip-writer.js';
import { isTensorRef } from './torch-globals.js';
import { readTorchZip } from './torch-zip.js';

const floats = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

function archive(prefix: string, pickle: Uint8Array, storages: Record<string, Uint8Array>, extra: ZipInput[] = []): Uint8Array {
  return writeZip([
    { name: `${prefix}/data.pkl`, data: pickle },
    ...Object.entries(storages).map(([key, data]) => ({ name: `${prefix}/data/${key}`, data })),
    ...extra,
  ]);
}

describe('readTorchZip', () => {
  it('finds the top folder whatever its name and shares storages between tensors', () => {
    const w = new PickleWriter().proto(2).op(']');
    w.tensor('FloatStorage', '0', 4, 0, [4], [1]).op('a');
    w.tensor('FloatStorage', '0', 4, 1, [2], [2]).op('a').stop();
    const contents = readTorchZip(archive('my-model', w.bytes(), { 0: floats([1, 2, 3, 4]) }, [{ name: 'my-model/version', data: '3\n' }]));
    expect(contents.prefix).toBe('my-model');
    expect(contents.littleEndian).toBe(true);
    const [a, b] = contents.root as unknown[];
    expect(isTensorRef(a) && isTensorRef(b)).toBe(true);
    if (isTensorRef(a) && isTensorRef(b)) {
      expect(a.storage).toBe(b.storage);
      expect(b).toMatchObject({ offset: 1, shape: [2], stride: [2] });
    }
  });

  it('reads the byteorder record', () => {
    const pickle = new PickleWriter().proto(2).op('N').stop().bytes();
    expect(readTorchZip(archive('a', pickle, {}, [{ name: 'a/byteorder', data: 'big' }])).littleEndian).toBe(false);
    expect(readTorchZip(archive('a', pickle, {}, [{ name: 'a/byteorder', data: 'little' }])).littleEndian).toBe(true);
    expect(() => readTorchZip(archive('a', pickle, {}, [{ name: 'a/byteorder', data: 'middle' }]))).toThrow(/byteorder/);
  });

  it('accepts a dtype or UntypedStorage in the persistent id (newer torch)', () => {
    const w = new PickleWriter().proto(2).op(']');
    // ('storage', torch.float16, '0', 'cpu', 2)
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'float16').str('0').str('cpu').int(2).op('t').op('Q');
    w.int(0).ints([2]).ints([1]).op('\x89').global('collections', 'OrderedDict').op(')').reduce().op('t').reduce().op('a');
    // ('storage', torch.UntypedStorage, '1', 'cpu', 3): bytes.
    w.tensor('UntypedStorage', '1', 3, 0, [3], [1]).op('a').stop();
    const [half, bytes] = readTorchZip(archive('a', w.bytes(), { 0: Uint8Array.of(0, 0x3c, 0, 0xc0), 1: Uint8Array.of(7, 8, 9) })).root as [unknown, unknown];
    expect(half).toMatchObject({ storage: { dtype: 'float16', numel: 2 } });
    expect(bytes).toMatchObject({ storage: { dtype: 'uint8', numel: 3 } });
  });

  it('rejects missing and mis-sized storages and out-of-bounds views', () => {
    const one = (numel: number, offset: number, size: number[], stride: number[]): Uint8Array =>
      new PickleWriter().proto(2).tensor('FloatStorage', '0', numel, offset, size, stride).stop().bytes();
    expect(() => readTorchZip(archive('a', one(2, 0, [2], [1]), {}))).toThrow(/no "a\/data\/0"/);
    expect(() => readTorchZip(archive('a', one(3, 0, [2], [1]), { 0: floats([1, 2]) }))).toThrow(/holds 8 bytes.*3 float32/);
    // [numel, offset, size, stride]: each view reaches one element past its storage.
    for (const [numel, offset, size, stride] of [
      [2, 1, [2], [1]],
      [2, 0, [3], [1]],
      [2, 0, [2, 2], [1, 1]],
      [3, 0, [2, 2], [2, 1]],
    ] as const) {
      const bytes = archive('a', one(numel, offset, [...size], [...stride]), { 0: floats(new Array<number>(numel).fill(0)) });
      expect(() => readTorchZip(bytes)).toThrow(BadCheckpointError);
      expect(() => readTorchZip(bytes)).toThrow(/reads element \d+ of storage 0/);
    }
  });

  it('needs a data.pkl', () => {
    expect(() => readTorchZip(writeZip([{ name: 'readme.txt', data: 'hi' }]))).toThrow(/no "<folder>\/data\.pkl".*readme\.txt/);
  });
});
