import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from './read-checkpoint.js';
import { readSafetensors, readSafetensorsHeader } from './safetensors.js';
import { concat } from './test-support/zip-writer.js';

const fixtureDir = fileURLToPath(new URL('../../test/fixtures/checkpoints/', import.meta.url));

/** A safetensors file from a header object (serialised as given) and the data buffer. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), headerLength?: bigint): Uint8Array {
  const json =
    header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  return concat([head, json, data]);
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

function refuses(bytes: Uint8Array, message: RegExp): void {
  const error = thrown(() => readSafetensors(bytes));
  expect(error).toBeInstanceOf(BadCheckpointError);
  expect(error.message).toMatch(message);
}

describe('readSafetensors on hand-built files', () => {
  it('reads tensors in data order, whatever the header order, with metadata', () => {
    const i64 = new Uint8Array(new BigInt64Array([7n, -9n]).buffer);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000]).buffer); // 1, -2
    const bytes = build(
      {
        // Integer-like keys come first in a JS object; data order must win.
        '10': { dtype: 'F16', shape: [2], data_offsets: [40, 44] },
        __metadata__: { format: 'pt' },
        'conv.weight': { dtype: 'F32', shape: [2, 2, 1, 1], data_offsets: [0, 16] },
        steps: { dtype: 'I64', shape: [2], data_offsets: [16, 32] },
        flags: { dtype: 'BOOL', shape: [2, 0], data_offsets: [32, 32] },
        mask: { dtype: 'U8', shape: [8], data_offsets: [32, 40] },
      },
      concat([f32([1, 2, 3, 4]), i64, Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 255), half]),
    );
    const { metadata, stateDict } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...stateDict.keys()]).toEqual(['conv.weight', 'steps', 'flags', 'mask', '10']);
    expect(stateDict.get('conv.weight')).toEqual({ dtype: 'float32', shape: [2, 2, 1, 1], data: new Float32Array([1, 2, 3, 4]) });
    expect(stateDict.get('steps')?.data).toEqual(new BigInt64Array([7n, -9n]));
    expect(stateDict.get('flags')).toEqual({ dtype: 'bool', shape: [2, 0], data: new Uint8Array(0) });
    expect(stateDict.get('mask')?.data).toEqual(Uint8Array.of(0, 1, 2, 3, 4, 5, 6, 255));
    expect(stateDict.get('10')).toEqual({ dtype: 'float16', shape: [2], data: new Float32Array([1, -2]) });
    // The tensors own their memory: the file buffer can be dropped.
    expect(stateDict.get('conv.weight')?.data.buffer).not.toBe(bytes.buffer);
  });

  it('accepts the space padding the reference writer adds, and an empty file', () => {
    const padded = build(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}${' '.repeat(5)}`, f32([2.5]));
    expect(readSafetensors(padded).stateDict.get('x')?.data).toEqual(new Float32Array([2.5]));
    // The reference serialisation of no tensors: {} and six spaces.
    expect(readSafetensors(build('{}      ')).stateDict.size).toBe(0);
    expect(() => readCheckpoint(build('{}      '))).toThrow(/no tensors/);
  });

  it('is told from a legacy pickle when the header length starts with 0x80 0x02', () => {
    // 640 = 0x0280: the file opens 80 02, like a protocol-2 pickle.
    const json = '{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const bytes = build(json.padEnd(640, ' '), f32([3]));
    expect([bytes[0], bytes[1]]).toEqual([0x80, 0x02]);
    expect(readCheckpoint(bytes)).toMatchObject({ format: 'safetensors', stateDict: new Map([['x', { dtype: 'float32', shape: [1], data: new Float32Array([3]) }]]) });
  });

  it('reads the header alone', () => {
    const header = '{"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]}}  ';
    const { tensors } = readSafetensorsHeader(build(header, new Uint8Array(6)));
    const start = 8 + header.length;
    expect(tensors).toEqual([{ name: 'a', dtype: 'bfloat16', shape: [3], begin: start, end: start + 6 }]);
  });

  it('refuses bad header lengths', () => {
    refuses(new Uint8Array(5), /shorter than the 8-byte header length/);
    refuses(build({}, new Uint8Array(0), 2n ** 63n), /header length 9223372036854775808 exceeds 100000000 bytes/);
    refuses(build({}, new Uint8Array(0), 100_000_001n), /exceeds/);
    refuses(build({}, new Uint8Array(0), 1000n), /runs past the end/);
  });

  it('refuses headers that are not a JSON object of tensors', () => {
    refuses(build('{"a": '), /not valid JSON/);
    refuses(build('[1, 2]'), /does not start with/);
    refuses(build(' {}'), /does not start with/);
    refuses(build(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d)), /UTF-8/); // {"\xff":1}
    refuses(build({ a: [1] }), /"a" is not an object/);
    refuses(build({ __metadata__: { n: 1 } }), /__metadata__\.n is number/);
  });

  it('refuses unknown dtypes and bad shapes', () => {
    refuses(build({ a: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /unsupported dtype "U16"/);
    refuses(build({ a: { dtype: 'float32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unsupported dtype/);
    refuses(build({ a: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /unsupported dtype undefined/);
    refuses(build({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape \[-1\]/);
    refuses(build({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape/);
    refuses(build({ a: { dtype: 'F32', shape: [2 ** 20, 2 ** 20], data_offsets: [0, 4] } }, new Uint8Array(4)), /exceeds/);
  });

  it('refuses offsets that do not match dtype and shape', () => {
    refuses(build({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /needs 8 bytes, but data_offsets \[0, 4\] span 4/);
    refuses(build({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /expected \[begin, end\]/);
    refuses(build({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, new Uint8Array(4)), /outside/);
  });

  it('refuses out-of-range, overlapping, gapped and short-of-the-end offsets', () => {
    const t = (begin: number, end: number) => ({ dtype: 'F32', shape: [(end - begin) / 4], data_offsets: [begin, end] });
    refuses(build({ a: t(0, 8) }, new Uint8Array(4)), /\[0, 8\] outside the 4-byte data buffer/);
    refuses(build({ a: t(0, 8), b: t(4, 12) }, new Uint8Array(12)), /"b" overlaps/);
    refuses(build({ a: t(0, 8), b: t(0, 8) }, new Uint8Array(8)), /overlaps/);
    refuses(build({ a: t(0, 4), b: t(8, 12) }, new Uint8Array(12)), /gap before tensor "b"/);
    refuses(build({ a: t(4, 8) }, new Uint8Array(8)), /gap before tensor "a"/);
    refuses(build({ a: t(0, 4) }, new Uint8Array(8)), /tensors end at buffer byte 4, but the buffer holds 8 bytes/);
  });
});

describe('typed.safetensors (written by tools/reference/make_checkpoint_fixtures.py)', () => {
  const bytes = new Uint8Array(readFileSync(path.join(fixtureDir, 'typed.safetensors')));

  it('reads through readCheckpoint with its metadata (values: read-checkpoint.test.ts, expected.json)', () => {
    const checkpoint = readCheckpoint(bytes);
    expect(checkpoint.format).toBe('safetensors');
    expect(checkpoint.nestedKey).toBeUndefined();
    expect(readSafetensors(bytes).metadata).toEqual({ format: 'pt', note: 'superres fixture' });
    // Views were made contiguous by the writer: torch's base[1:, ::2].
    expect([...checkpoint.stateDict.get('sliced')!.data]).toEqual([5, 7, 9, 10, 12, 14, 15, 17, 19]);
    expect(checkpoint.stateDict.get('i64')?.data).toEqual(new BigInt64Array([0n, -1n, 2n ** 53n + 1n, -(2n ** 62n)]));
  });

  it('reports every truncated copy as BadCheckpointError', () => {
    for (let cut = 0; cut < bytes.length; cut += 5) {
      const error = thrown(() => readCheckpoint(bytes.subarray(0, cut)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(BadCheckpointError);
    }
  });
});
