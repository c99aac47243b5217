import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadCheckpointError, UnsafeCheckpointError } from '@superres/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { needsFixture, fixture as sharedFixture } from '../../../../test-support/fixtures.js';
import { readCheckpoint } from './read-checkpoint.js';
import { PickleWriter } from './test-support/pickle-writer.js';
import { concat } from './test-support/zip-writer.js';
import { looksLikeTorchLegacy, readTorchLegacy } from './torch-legacy.js';
import type { StateDict, TensorEntry } from './types.js';

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

// --- a hand-built legacy file: the pickles torch's _legacy_save writes, then the records ------

/** PROTO 2, LONG1 of `n` bytes (little-endian two's complement), STOP. */
function longPickle(value: bigint, n: number): Uint8Array {
  const body = new Uint8Array(n);
  let v = BigInt.asUintN(8 * n, value);
  for (let i = 0; i < n; i++, v >>= 8n) body[i] = Number(v & 0xffn);
  return concat([Uint8Array.of(0x80, 2, 0x8a, n), body, Uint8Array.of(0x2e)]);
}

const MAGIC = longPickle(0x1950a86a20f9469cfc6cn, 10);
const VERSION = new PickleWriter().proto(2).int(1001).stop().bytes();
const SYS_INFO = new PickleWriter().proto(2).op('}').mark().str('protocol_version').int(1001).str('little_endian').op('\x88').op('u').stop().bytes();

/** `('storage', torch.<type>, key, 'cpu', numel, view)` where view is None or (key, offset, size). */
function pid(w: PickleWriter, type: string, key: string, numel: number, view?: [string, number, number]): PickleWriter {
  w.mark().str('storage').global('torch', type).str(key).str('cpu').int(numel);
  if (view) w.mark().str(view[0]).int(view[1]).int(view[2]).tuple();
  else w.op('N');
  return w.tuple().op('Q');
}

/** `_rebuild_tensor_v2(<pid>, offset, size, stride, False, OrderedDict())` */
function tensor(w: PickleWriter, storage: (w: PickleWriter) => void, offset: number, size: number[], stride: number[]): PickleWriter {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  storage(w);
  w.int(offset).ints(size).ints(stride).op('\x89').global('collections', 'OrderedDict').op(')').reduce();
  return w.tuple().reduce();
}

function record(count: number, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigInt64(0, BigInt(count), true);
  return concat([head, data]);
}

function keyList(keys: string[]): Uint8Array {
  const w = new PickleWriter().proto(2).op(']').mark();
  for (const k of keys) w.str(k);
  return w.op('e').stop().bytes();
}

const floats = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

/** {'a': 6 floats as [2, 3], 'v': a view of elements 2..5 of the same root, read as [2, 2] } */
function handBuilt(): { object: Uint8Array; keys: Uint8Array; records: Uint8Array } {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').op(')').reduce().mark();
  w.str('a');
  tensor(w, (x) => pid(x, 'FloatStorage', '100', 6), 0, [2, 3], [3, 1]);
  w.str('v');
  tensor(w, (x) => pid(x, 'FloatStorage', '100', 6, ['101', 2, 4]), 0, [2, 2], [1, 2]);
  w.str('i');
  tensor(w, (x) => pid(x, 'LongStorage', '7', 1), 0, [], []);
  const object = w.op('u').stop().bytes();
  const long = new Uint8Array(new BigInt64Array([-5n]).buffer);
  return { object, keys: keyList(['100', '7']), records: concat([record(6, floats([1, 2, 3, 4, 5, 6])), record(1, long)]) };
}

function legacyFile(parts: Partial<Record<'magic' | 'version' | 'sysInfo' | 'object' | 'keys' | 'records', Uint8Array>> = {}): Uint8Array {
  const built = handBuilt();
  return concat([
    parts.magic ?? MAGIC,
    parts.version ?? VERSION,
    parts.sysInfo ?? SYS_INFO,
    parts.object ?? built.object,
    parts.keys ?? built.keys,
    parts.records ?? built.records,
  ]);
}

describe('readTorchLegacy on hand-built files', () => {
  it('reads roots, views and int64 storages from the records after the pickle', () => {
    const bytes = legacyFile();
    expect(looksLikeTorchLegacy(bytes)).toBe(true);
    const { format, stateDict } = readCheckpoint(bytes);
    expect(format).toBe('pytorch-legacy');
    expect(stateDict.get('a')).toEqual({ dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) });
    // The view starts at element 2 of the root: [3, 4, 5, 6] read column-major.
    expect(stateDict.get('v')).toEqual({ dtype: 'float32', shape: [2, 2], data: new Float32Array([3, 5, 4, 6]) });
    expect(stateDict.get('i')).toEqual({ dtype: 'int64', shape: [], data: new BigInt64Array([-5n]) });
  });

  it('checks the magic number and the format version', () => {
    const magic = thrown(() => readTorchLegacy(legacyFile({ magic: longPickle(0x1950a86a20f9469cfc6dn, 10) })));
    expect(magic).toBeInstanceOf(BadCheckpointError);
    expect(magic.message).toMatch(/magic number/);
    const version = thrown(() => readTorchLegacy(legacyFile({ version: new PickleWriter().proto(2).int(1000).stop().bytes() })));
    expect(version).toBeInstanceOf(BadCheckpointError);
    expect(version.message).toMatch(/format version 1000/);
  });

  it('reports every truncation as BadCheckpointError', () => {
    const bytes = legacyFile();
    for (let cut = 0; cut < bytes.length; cut++) {
      const error = thrown(() => readTorchLegacy(bytes.subarray(0, cut)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(BadCheckpointError);
      expect(error.message, `cut at ${cut}`).toMatch(/truncated/);
    }
  });

  it('refuses records that disagree with the pickle', () => {
    const { records } = handBuilt();
    const wrongCount = records.slice();
    new DataView(wrongCount.buffer).setBigInt64(0, 5n, true);
    expect(() => readTorchLegacy(legacyFile({ records: wrongCount }))).toThrow(/record of 5 elements, but the pickle declares 6/);
    expect(() => readTorchLegacy(legacyFile({ keys: keyList(['100']) }))).toThrow(/no data record for storage "7"/);
    expect(() => readTorchLegacy(legacyFile({ keys: keyList(['100', '7', '8']) }))).toThrow(/"8", which no tensor uses/);
    expect(() => readTorchLegacy(legacyFile({ keys: keyList(['100', '100']) }))).toThrow(/twice/);
    const notList = new PickleWriter().proto(2).int(3).stop().bytes();
    expect(() => readTorchLegacy(legacyFile({ keys: notList }))).toThrow(BadCheckpointError);
  });

  it('refuses a view outside its root storage', () => {
    const w = new PickleWriter().proto(2).op('}').str('v');
    tensor(w, (x) => pid(x, 'FloatStorage', '1', 4, ['2', 3, 2]), 0, [2], [1]).op('s').stop();
    const error = thrown(() => readTorchLegacy(legacyFile({ object: w.bytes(), keys: keyList(['1']), records: record(4, floats([0, 0, 0, 0])) })));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/covers elements 3\.\.5 of storage "1", which holds 4/);
  });

  it('refuses a pickle that calls os.system, without running it', () => {
    const evil = new PickleWriter().proto(2).global('posix', 'system').str('touch /tmp/pwned-legacy').op('\x85').reduce().stop().bytes();
    const error = thrown(() => readCheckpoint(legacyFile({ object: evil })));
    expect(error).toBeInstanceOf(UnsafeCheckpointError);
    expect(error.details).toEqual({ global: 'posix.system' });
    expect(existsSync('/tmp/pwned-legacy')).toBe(false);
    // Globals are refused in the header pickles too, where none belongs.
    const evilMagic = new PickleWriter().proto(2).global('os', 'system').str('true').op('\x85').reduce().stop().bytes();
    expect(() => readTorchLegacy(legacyFile({ magic: evilMagic }))).toThrow(UnsafeCheckpointError);
  });

  it('names the tar format of torch 0.1.x', () => {
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('sys_info'), 0);
    tar.set(new TextEncoder().encode('ustar\u000000'), 257);
    const error = thrown(() => readCheckpoint(tar));
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/tar format not supported/);
  });
});

describe('legacy files written by torch.save(..., _use_new_zipfile_serialization=False)', () => {
  const entries = (sd: StateDict): [string, TensorEntry][] => [...sd.entries()];

  it('legacy.pth reads as the same module state dict as the zip fixture', () => {
    const legacy = readCheckpoint(fixture('legacy.pth'));
    const zip = readCheckpoint(fixture('module-state-dict.pth'));
    expect(legacy.format).toBe('pytorch-legacy');
    expect(legacy.nestedKey).toBeUndefined();
    expect(entries(legacy.stateDict)).toEqual(entries(zip.stateDict));
  });

  it('reports truncated copies as BadCheckpointError at every cut point', () => {
    const bytes = fixture('legacy-typed.pth');
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const error = thrown(() => readTorchLegacy(bytes.subarray(0, cut)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(BadCheckpointError);
    }
  });
});

const retinaFace = needsFixture('official RetinaFace detection_mobilenet0.25_Final.pth (legacy format)', 'weights', 'detection_mobilenet0.25_Final.pth');

describe.skipIf(retinaFace.missing)(retinaFace.title, () => {
  // Facts from torch 1.13: sd = torch.load(path, map_location='cpu', weights_only=True), an
  // OrderedDict at the root (no nesting); len(sd), v.dtype, list(v.shape), v.flatten()[:3].tolist()
  // and float(v.double().sum()) per tensor.
  let sd: StateDict;
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = new Uint8Array(readFileSync(sharedFixture('weights', 'detection_mobilenet0.25_Final.pth')));
    const checkpoint = readCheckpoint(bytes);
    expect(checkpoint.format).toBe('pytorch-legacy');
    expect(checkpoint.nestedKey).toBeUndefined();
    sd = checkpoint.stateDict;
  });

  it('has 300 tensors: 253 float32 and 47 int64 num_batches_tracked', () => {
    expect(sd.size).toBe(300);
    const keys = [...sd.keys()];
    expect(keys[0]).toBe('body.stage1.0.0.weight');
    expect(keys[100]).toBe('body.stage2.2.4.running_var');
    expect(keys[299]).toBe('LandmarkHead.2.conv1x1.bias');
    const dtypes = [...sd.values()].map((t) => t.dtype);
    expect(dtypes.filter((d) => d === 'float32')).toHaveLength(253);
    expect(dtypes.filter((d) => d === 'int64')).toHaveLength(47);
    // sum(v.numel() for v in sd.values() if v.dtype == torch.float32)
    expect([...sd.values()].filter((t) => t.dtype === 'float32').reduce((a, t) => a + t.data.length, 0)).toBe(433296);
  });

  it('matches shapes and values read by torch', () => {
    const sum = (t: TensorEntry): number => (t.data as Float32Array).reduce((a, b) => a + b, 0);
    const cases: [string, number[], number[], number][] = [
      ['body.stage1.0.0.weight', [8, 3, 3, 3], [0.10497289150953293, -0.00853274017572403, -0.05757106840610504], 6.447724547411781],
      ['fpn.output1.0.weight', [64, 64, 1, 1], [0.02417672611773014, 0.037263497710227966, -0.07490124553442001], -18.45046594032695],
      ['ClassHead.0.conv1x1.weight', [4, 64, 1, 1], [0.08727560937404633, 0.05639226734638214, 0.22004389762878418], 0.5734271248802543],
      ['BboxHead.2.conv1x1.weight', [8, 64, 1, 1], [0.02581893280148506, -0.01562623120844364, 0.014043224044144154], -3.8464318733895198],
      ['LandmarkHead.2.conv1x1.bias', [20], [-0.12285832315683365, -0.09804990142583847, 0.1273503601551056], 0.5843871077522635],
    ];
    for (const [name, shape, first, total] of cases) {
      const t = sd.get(name)!;
      expect(t.dtype, name).toBe('float32');
      expect(t.shape, name).toEqual(shape);
      expect([...t.data.subarray(0, 3)], name).toEqual(first);
      expect(sum(t), name).toBeCloseTo(total, 4);
    }
    expect(sd.get('body.stage3.1.4.num_batches_tracked')).toEqual({ dtype: 'int64', shape: [], data: new BigInt64Array([184795n]) });
    // sum(float(v.double().sum()) for v in sd.values() if v.dtype == torch.float32)
    const all = [...sd.values()].filter((t) => t.dtype === 'float32').reduce((a, t) => a + sum(t), 0);
    expect(all).toBeCloseTo(267212.6234525365, 0);
  });

  it('reports truncated copies as BadCheckpointError', () => {
    for (const cut of [50, 137, 20000, Math.floor(bytes.length * 0.6), bytes.length - 1]) {
      const error = thrown(() => readCheckpoint(bytes.subarray(0, cut)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(BadCheckpointError);
      expect(error.message, `cut at ${cut}`).toMatch(/truncated/);
    }
  });
});
