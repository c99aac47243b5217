import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadCheckpointError, UnsafeCheckpointError } from '@superres/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractStateDict, readCheckpoint } from './index.js';
import { PickleWriter } from './test-support/pickle-writer.js';
import { writeZip } from './test-support/zip-writer.js';
import type { Checkpoint, StateDict, TensorEntry } from './types.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const shared = path.resolve(repoRoot, process.env.SUPERRES_FIXTURES ?? '../shared/fixtures');
const realFile = path.join(shared, 'weights', 'realesr-animevideov3.pth');
const legacyRealFile = path.join(shared, 'weights', 'detection_mobilenet0.25_Final.pth');
// Written by tools/reference/make_checkpoint_fixtures.py (torch 1.13).
const fixtureDir = fileURLToPath(new URL('../../test/fixtures/checkpoints/', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(fixtureDir, name)));

function thrown(fn: () => unknown): Error & { details?: Record<string, unknown> } {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const sum = (t: TensorEntry): number => (t.data as Float32Array).reduce((a, b) => a + b, 0);

describe.skipIf(!existsSync(realFile))(`official realesr-animevideov3.pth (${realFile}; skipped when absent)`, () => {
  // Facts below come from torch 1.13: sd = torch.load(path, map_location='cpu', weights_only=True)
  // (a plain dict {'params': OrderedDict}, 53 float32 tensors, all contiguous, storages on 'cuda:0').
  // Read once, in beforeAll: a describe body also runs when the block is skipped.
  let checkpoint: Checkpoint;
  let sd: StateDict;
  beforeAll(() => {
    checkpoint = readCheckpoint(new Uint8Array(readFileSync(realFile)));
    sd = checkpoint.stateDict;
  });

  it('finds the state dict under "params"', () => {
    expect(checkpoint.format).toBe('pytorch-zip');
    expect(checkpoint.nestedKey).toBe('params');
    expect(sd.size).toBe(53); // 18 convs (even body.N, weight + bias) + 17 PReLUs (odd body.N)
    expect([...sd.keys()].slice(0, 3)).toEqual(['body.0.weight', 'body.0.bias', 'body.1.weight']);
    expect([...sd.keys()].at(-1)).toBe('body.34.bias');
  });

  it('has the SRVGGNetCompact shapes', () => {
    expect(sd.get('body.0.weight')).toMatchObject({ dtype: 'float32', shape: [64, 3, 3, 3] });
    expect(sd.get('body.1.weight')).toMatchObject({ dtype: 'float32', shape: [64] }); // PReLU
    expect(sd.get('body.34.weight')).toMatchObject({ dtype: 'float32', shape: [48, 64, 3, 3] }); // 3 * 4 * 4 outputs
    expect(sd.get('body.34.bias')?.shape).toEqual([48]);
    let elements = 0;
    for (const t of sd.values()) {
      expect(t.data).toBeInstanceOf(Float32Array);
      expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
      expect((t.data as Float32Array).every(Number.isFinite)).toBe(true);
      elements += t.data.length;
    }
    expect(elements).toBe(621424); // sum(v.numel() for v in sd['params'].values())
  });

  it('matches values read by torch', () => {
    // sd['params']['body.0.weight'].flatten()[:5].tolist()
    expect([...sd.get('body.0.weight')!.data.subarray(0, 5)]).toEqual([
      -0.04737050086259842, -0.04728248715400696, 0.5571998953819275, -1.8980638980865479, 0.07729446887969971,
    ]);
    // sd['params']['body.1.weight'][:3].tolist()
    expect([...sd.get('body.1.weight')!.data.subarray(0, 3)]).toEqual([0.0010072719305753708, -0.8137637376785278, 0.7300063967704773]);
    // sd['params']['body.34.weight'].flatten()[-3:].tolist()
    expect([...sd.get('body.34.weight')!.data.subarray(-3)]).toEqual([-0.004787347745150328, 0.004416910000145435, -0.0020106472074985504]);
    // float(v.double().sum()) per tensor, and summed over all tensors.
    expect(sum(sd.get('body.0.weight')!)).toBeCloseTo(-10.472198008559644, 9);
    expect(sum(sd.get('body.34.bias')!)).toBeCloseTo(0.7627639975398779, 9);
    expect([...sd.values()].reduce((a, t) => a + sum(t), 0)).toBeCloseTo(-147.60459097217972, 7);
  });

  it('reports truncated copies as BadCheckpointError', () => {
    const bytes = new Uint8Array(readFileSync(realFile));
    for (const cut of [bytes.subarray(0, Math.floor(bytes.length * 0.6)), bytes.subarray(0, bytes.length - 100), bytes.subarray(0, 100)]) {
      const error = thrown(() => readCheckpoint(cut));
      expect(error).toBeInstanceOf(BadCheckpointError);
      expect(error.message).toMatch(/truncated/);
    }
  });
});

describe('checkpoints written by torch.save (test/fixtures/checkpoints)', () => {
  type Expected = { nestedKey: string | null; folders?: string[]; tensors: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }> };
  const expected = JSON.parse(readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as Record<string, Expected>;
  const decode = (v: number | string, dtype: string): number | bigint => {
    if (dtype === 'int64') return BigInt(v);
    if (v === 'inf') return Infinity;
    if (v === '-inf') return -Infinity;
    if (v === 'nan') return NaN;
    return v as number;
  };

  it.each(Object.keys(expected))('%s reads exactly as torch wrote it', (name) => {
    const want = expected[name]!;
    const checkpoint = readCheckpoint(fixture(name));
    expect(checkpoint.nestedKey).toBe(want.nestedKey ?? undefined);
    expect([...checkpoint.stateDict.keys()]).toEqual(Object.keys(want.tensors));
    for (const [key, t] of Object.entries(want.tensors)) {
      const got = checkpoint.stateDict.get(key)!;
      expect(got.dtype, key).toBe(t.dtype);
      expect(got.shape, key).toEqual(t.shape);
      expect([...got.data], key).toEqual(t.values.map((v) => decode(v, t.dtype)));
    }
  });

  it('covers the cases it was made for', () => {
    const typed = readCheckpoint(fixture('nested-params-ema.pth')).stateDict;
    expect(typed.get('f16')?.data).toBeInstanceOf(Float32Array);
    expect([...typed.get('f16')!.data]).toEqual([1.5, -2.25, 65504, 5.960464477539063e-8, Infinity, 0.0999755859375, -0]);
    expect([...typed.get('bf16')!.data].slice(0, 2)).toEqual([1, -3.140625]);
    expect(typed.get('i64')?.data).toEqual(new BigInt64Array([0n, -1n, 2n ** 53n + 1n, -(2n ** 62n)]));
    expect([...typed.get('transposed')!.data]).toEqual([0, 5, 10, 15, 1, 6, 11, 16, 2, 7, 12, 17, 3, 8, 13, 18, 4, 9, 14, 19]);
    expect([...typed.get('sliced')!.data]).toEqual([5, 7, 9, 10, 12, 14, 15, 17, 19]);
    expect(typed.get('scalar')).toEqual({ dtype: 'float32', shape: [], data: new Float32Array([3.5]) });
    expect(typed.get('empty')?.shape).toEqual([0, 3]);
    // A path save names the top folder after the file's stem.
    expect(expected['module-state-dict.pth']?.folders).toEqual(['module-state-dict']);
  });

  it('refuses a checkpoint that calls os.system, without running it', () => {
    rmSync('/tmp/pwned', { force: true });
    const error = thrown(() => readCheckpoint(fixture('pwned.pth')));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    // Python pickles os.system by its defining module: posix.system on Linux.
    expect(error.message).toBe('Checkpoint refers to forbidden global "posix.system"');
    expect(error.details).toEqual({ global: 'posix.system' });
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('refuses a pickle whose root holds no state dict', () => {
    const error = thrown(() => readCheckpoint(fixture('no-state-dict.pth')));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/state dict/);
  });

  it('reads the legacy format (more in torch-legacy.test.ts)', () => {
    expect(readCheckpoint(fixture('legacy.pth')).format).toBe('pytorch-legacy');
  });

  it.skipIf(!existsSync(legacyRealFile))('reads the legacy format of the official RetinaFace weights', () => {
    expect(readCheckpoint(new Uint8Array(readFileSync(legacyRealFile))).stateDict.size).toBe(300);
  });
});

describe('hand-built archives', () => {
  const bytesOf = (array: Float32Array | Uint16Array): Uint8Array => new Uint8Array(array.buffer);
  const stateDict = (build: (w: PickleWriter) => void): Uint8Array => {
    const w = new PickleWriter().proto(2).op('}').str('params').global('collections', 'OrderedDict').op(')').reduce().mark();
    build(w);
    return w.op('u').op('s').stop().bytes();
  };

  it('reads a small state dict with a strided view and half types', () => {
    const pickle = stateDict((w) => {
      w.str('w').tensor('FloatStorage', '0', 6, 0, [2, 3], [3, 1]);
      w.str('wt').tensor('FloatStorage', '0', 6, 0, [3, 2], [1, 3]); // w.t(): same storage
      w.str('h').tensor('HalfStorage', '1', 2, 0, [2], [1]);
      w.str('b').tensor('BFloat16Storage', '2', 3, 1, [2], [1]);
    });
    const zip = writeZip([
      // PyTorch aligns storages with a padding extra field in the local header only.
      { name: 'archive/data.pkl', data: pickle, localExtra: Uint8Array.of(0x46, 0x42, 3, 0, 0, 0, 0) },
      { name: 'archive/data/0', data: bytesOf(new Float32Array([1, 2, 3, 4, 5, 6])) },
      { name: 'archive/data/1', data: bytesOf(new Uint16Array([0x3c00, 0xbc00])) },
      { name: 'archive/data/2', data: bytesOf(new Uint16Array([0, 0x4040, 0xc0a0])) },
      { name: 'archive/version', data: '3\n' },
    ]);
    const { format, nestedKey, stateDict: sd } = readCheckpoint(zip);
    expect({ format, nestedKey }).toEqual({ format: 'pytorch-zip', nestedKey: 'params' });
    expect(sd.get('w')).toEqual({ dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    expect(sd.get('wt')).toEqual({ dtype: 'float32', shape: [3, 2], data: new Float32Array([1, 4, 2, 5, 3, 6]) });
    expect(sd.get('h')).toEqual({ dtype: 'float16', shape: [2], data: new Float32Array([1, -1]) });
    expect(sd.get('b')).toEqual({ dtype: 'bfloat16', shape: [2], data: new Float32Array([3, -5]) });
  });

  it('reads a big-endian archive', () => {
    const be = new Uint8Array(8);
    new DataView(be.buffer).setFloat32(0, 0.25, false);
    new DataView(be.buffer).setFloat32(4, -8, false);
    const zip = writeZip([
      { name: 'm/data.pkl', data: stateDict((w) => w.str('x').tensor('FloatStorage', '0', 2, 0, [2], [1])) },
      { name: 'm/data/0', data: be },
      { name: 'm/byteorder', data: 'big' },
    ]);
    expect(readCheckpoint(zip).stateDict.get('x')?.data).toEqual(new Float32Array([0.25, -8]));
  });

  it('refuses an archive without data.pkl, a state-dict-less pickle and an out-of-bounds view', () => {
    expect(() => readCheckpoint(writeZip([{ name: 'archive/version', data: '3\n' }]))).toThrow(/data\.pkl/);
    const list = new PickleWriter().proto(2).op(']').int(1).op('a').stop().bytes();
    const noSd = thrown(() => readCheckpoint(writeZip([{ name: 'archive/data.pkl', data: list }])));
    expect(noSd).toBeInstanceOf(BadCheckpointError);
    expect(noSd.message).toMatch(/no state dict/);
    const oob = writeZip([
      { name: 'archive/data.pkl', data: stateDict((w) => w.str('x').tensor('FloatStorage', '0', 2, 1, [2], [1])) },
      { name: 'archive/data/0', data: bytesOf(new Float32Array(2)) },
    ]);
    const error = thrown(() => readCheckpoint(oob));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/offset 1 reads element 2 of storage 0, which holds 2/);
  });

  it('refuses forbidden globals inside an archive', () => {
    const pickle = new PickleWriter().proto(2).global('os', 'system').str('touch /tmp/pwned').op('\x85').reduce().stop().bytes();
    const error = thrown(() => readCheckpoint(writeZip([{ name: 'archive/data.pkl', data: pickle }])));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details).toEqual({ global: 'os.system' });
  });

  it('refuses what is not a checkpoint', () => {
    expect(() => readCheckpoint(new Uint8Array(0))).toThrow(/empty/);
    expect(() => readCheckpoint(new TextEncoder().encode('hello world'))).toThrow(BadCheckpointError);
    const safetensors = new Uint8Array(16);
    safetensors.set([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
    expect(() => readCheckpoint(safetensors)).toThrow(/safetensors/);
  });

  it('extractStateDict is exported for other container formats', () => {
    expect(() => extractStateDict(null)).toThrow(/no state dict/);
  });
});
