import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BadCheckpointError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { writeZip } from './test-support/zip-writer.js';
import { looksLikeZip, readZip } from './zip.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = path.resolve(repoRoot, process.env.SUPERRES_FIXTURES ?? '../shared/fixtures');
const realFile = path.join(fixtures, 'weights', 'realesr-animevideov3.pth');
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function expectBad(fn: () => unknown, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BadCheckpointError);
  expect((error as Error).message).toMatch(message);
}

describe('readZip', () => {
  it('reads stored and deflated entries, a differing local extra field and a comment', () => {
    const big = new Uint8Array(5000).map((_, i) => i % 7);
    const zip = writeZip(
      [
        { name: 'archive/data.pkl', data: 'hello', localExtra: new Uint8Array([0x46, 0x42, 4, 0, 0, 0, 0, 0]) },
        { name: 'archive/data/0', data: big, deflate: true },
        { name: 'empty', data: '' },
      ],
      { comment: 'a comment with PK\x05\x06 inside' },
    );
    expect(looksLikeZip(zip)).toBe(true);
    const { entries } = readZip(zip);
    expect([...entries.keys()]).toEqual(['archive/data.pkl', 'archive/data/0', 'empty']);
    const pkl = entries.get('archive/data.pkl')!;
    expect(text(pkl.data())).toBe('hello');
    // Stored data is a view of the archive, not a copy.
    expect(pkl.data().buffer).toBe(zip.buffer);
    const deflated = entries.get('archive/data/0')!;
    expect(deflated.method).toBe(8);
    expect(deflated.compressedSize).toBeLessThan(5000);
    expect(deflated.data()).toEqual(big);
    expect(entries.get('empty')!.data().length).toBe(0);
  });

  it('reads ZIP64 end records and extra fields', () => {
    const zip = writeZip(
      [
        { name: 'a/data.pkl', data: 'xyz' },
        { name: 'a/data/0', data: new Uint8Array([1, 2, 3, 4]) },
      ],
      { zip64: true },
    );
    const { entries } = readZip(zip);
    expect(entries.size).toBe(2);
    expect(text(entries.get('a/data.pkl')!.data())).toBe('xyz');
    expect([...entries.get('a/data/0')!.data()]).toEqual([1, 2, 3, 4]);
    expect(entries.get('a/data/0')!.size).toBe(4);
  });

  it('rejects inconsistent archives with specific messages', () => {
    const good = writeZip([{ name: 'x/data.pkl', data: 'hello world' }]);
    expectBad(() => readZip(new Uint8Array(10)), /too short/);
    expectBad(() => readZip(good.subarray(0, good.length - 1)), /no end of central directory/);
    expectBad(() => readZip(writeZip([{ name: 'x', data: 'a' }], { encrypted: true })), /encrypted/);
    expectBad(() => readZip(writeZip([{ name: 'x', data: 'a' }], { method: 12 })), /unsupported compression method 12/);

    // Corrupt the local header signature (offset 0).
    const badLocal = good.slice();
    badLocal[0] = 0;
    expectBad(() => readZip(badLocal), /bad local header signature/);

    // Point the central directory's local header offset past the end of the file.
    const cdAt = good.length - 22 - (46 + 'x/data.pkl'.length);
    const badOffset = good.slice();
    new DataView(badOffset.buffer).setUint32(cdAt + 42, 1_000_000, true);
    expectBad(() => readZip(badOffset), /past the end of the file/);

    // Claim a bigger entry than the file holds.
    const badSize = good.slice();
    new DataView(badSize.buffer).setUint32(cdAt + 20, 5000, true);
    new DataView(badSize.buffer).setUint32(cdAt + 24, 5000, true);
    expectBad(() => readZip(badSize), /runs past the end of the file/);

    // Central directory offset beyond its end record.
    const badCd = good.slice();
    new DataView(badCd.buffer).setUint32(good.length - 22 + 16, good.length, true);
    expectBad(() => readZip(badCd), /central directory/);

    expectBad(
      () => readZip(writeZip([{ name: 'dup', data: 'a' }, { name: 'dup', data: 'b' }])),
      /duplicate zip entry "dup"/,
    );
  });

  it('rejects a deflate entry whose data is corrupt', () => {
    const zip = writeZip([{ name: 'x', data: new Uint8Array(100).fill(3), deflate: true }]);
    // The compressed body starts after the 30-byte header and the 1-byte name.
    zip.fill(0xff, 31, 36);
    const { entries } = readZip(zip);
    expectBad(() => entries.get('x')!.data(), /deflate|inflated/);
  });

  describe.skipIf(!existsSync(realFile))(`real checkpoint (${realFile}; skipped when absent)`, () => {
    it('lists the official Real-ESRGAN archive', () => {
      const { entries } = readZip(new Uint8Array(readFileSync(realFile)));
      // Facts from Python's zipfile: 55 entries, all stored, data.pkl 7230 bytes; 53 storages
      // (one per tensor) plus data.pkl and version, all under "archive/".
      expect(entries.size).toBe(55);
      expect([...entries.values()].every((e) => e.method === 0 && e.name.startsWith('archive/'))).toBe(true);
      expect(entries.get('archive/data.pkl')!.size).toBe(7230);
      expect(text(entries.get('archive/version')!.data())).toBe('3\n');
    });
  });
});
