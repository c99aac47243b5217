// A .pth file is untrusted: what reading it may allocate is bounded by its own size.
import { BadCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { checkpointByteBudget } from './budget.js';
import { readCheckpoint } from './read-checkpoint.js';
import { extractStateDict } from './state-dict.js';
import { PickleWriter } from './test-support/pickle-writer.js';
import { writeZip } from './test-support/zip-writer.js';
import { readTorchZip } from './torch-zip.js';

/** A torch zip whose state dict maps each name to a view of storage "0". */
function checkpoint(views: Array<[name: string, size: number[], stride: number[]]>, numel: number, storage: Uint8Array, deflate = false): Uint8Array {
  const w = new PickleWriter().proto(2).op('}').mark();
  for (const [name, size, stride] of views) w.str(name).tensor('FloatStorage', '0', numel, 0, size, stride);
  w.op('u').stop();
  return writeZip([
    { name: 'archive/data.pkl', data: w.bytes() },
    { name: 'archive/data/0', data: storage, deflate },
  ]);
}

describe('checkpoint byte budget', () => {
  it('refuses stride-0 views that would expand one float into gigabytes, before allocating', () => {
    // 20 views of 8192x8192 over a single float: 5 GiB materialised from a file of about 3 KB.
    const views = Array.from({ length: 20 }, (_, i): [string, number[], number[]] => [`w${i}`, [8192, 8192], [0, 0]]);
    const bytes = checkpoint(views, 1, new Uint8Array(4));
    expect(bytes.length).toBeLessThan(4096);
    const error = (() => {
      try {
        readCheckpoint(bytes);
      } catch (e) {
        return e as BadCheckpointError;
      }
      throw new Error('expected a refusal');
    })();
    expect(error).toBeInstanceOf(BadCheckpointError);
    expect(error.message).toMatch(/would take \d+ bytes to read .*\(stride 0 or overlapping\)/);
    expect(error.details).toMatchObject({ maxBytes: checkpointByteBudget(bytes.length) });
  });

  it('refuses a compressed storage that would inflate past the budget (a zip bomb)', () => {
    // 32 MiB of zeros deflate to about 32 KB: the file may expand to about 16 MiB.
    const numel = 8 * 2 ** 20;
    const bytes = checkpoint([['w', [numel], [1]]], numel, new Uint8Array(numel * 4), true);
    expect(bytes.length).toBeLessThan(2 ** 20);
    expect(() => readCheckpoint(bytes)).toThrow(BadCheckpointError);
    // The zip reader refuses too, whoever asks it for the entry.
    const storage = readTorchZip(bytes).root as Map<string, { storage: { bytes(): Uint8Array } }>;
    expect(() => storage.get('w')!.storage.bytes()).toThrow(/would inflate to 33554432 bytes, past the \d+ bytes/);
  });

  it('reads views within the budget: shared storages, float16 widened', () => {
    const floats = new Float32Array([1, 2, 3, 4, 5, 6]);
    const bytes = checkpoint(
      [
        ['a', [2, 3], [3, 1]],
        ['a_t', [3, 2], [1, 3]],
        ['row', [3], [1]],
      ],
      6,
      new Uint8Array(floats.buffer),
    );
    const { stateDict } = readCheckpoint(bytes);
    expect([...(stateDict.get('a_t')!.data as Float32Array)]).toEqual([1, 4, 2, 5, 3, 6]);
    // The same dict under a tight explicit budget: 24 (storage) + 24 + 24 + 12 bytes.
    const root = readTorchZip(bytes).root;
    expect(extractStateDict(root, { maxBytes: 84 }).stateDict.size).toBe(3);
    expect(() => extractStateDict(root, { maxBytes: 83 })).toThrow(/would take 84 bytes/);
  });
});
