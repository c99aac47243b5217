import { BadCheckpointError, UnsupportedArchitectureError, type SuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { halfToFloat } from './half.js';
import { NCNN_TAG_FLOAT32, NCNN_TAG_INT8, NcnnModelBin } from './model-bin.js';
import { parseNcnnParam } from './param.js';
import { BinWriter, floatToHalf, paramText } from './test-support/tiny-ncnn.js';

const layer = parseNcnnParam(paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=1 1=1 6=3'])).layers[1]!;
const owner = { layer, what: 'weight_data' };

function thrown(fn: () => unknown): SuperresError {
  try {
    fn();
  } catch (e) {
    return e as SuperresError;
  }
  throw new Error('expected a throw');
}

describe('halfToFloat', () => {
  it('decodes normals, subnormals, zeros, infinities and NaN', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325195, 8);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
    for (const v of [0.1, -3.5, 1e-5, 1000]) expect(halfToFloat(floatToHalf(v))).toBeCloseTo(v, 2);
  });
});

describe('NcnnModelBin', () => {
  it('reads float16 (padded to 4 bytes), tagged and untagged float32, in order', () => {
    const bytes = new BinWriter()
      .float16([1, -2, 0.5]) // 4 + 6 + 2 padding
      .float32([1.25, 2.5], 0)
      .float32([3.75], NCNN_TAG_FLOAT32)
      .raw([7, 8])
      .bytes();
    expect(bytes.length).toBe(12 + 12 + 8 + 8);
    const bin = new NcnnModelBin(bytes);
    expect([...bin.load(3, 0, owner)]).toEqual([1, -2, 0.5]);
    expect(bin.offset).toBe(12);
    expect([...bin.load(2, 0, owner)]).toEqual([1.25, 2.5]);
    expect([...bin.load(1, 0, owner)]).toEqual([3.75]);
    expect([...bin.load(2, 1, owner)]).toEqual([7, 8]);
    bin.finish();
    expect(bin.storage).toEqual({ float32: 5, float16: 3, quantized: 0 });
  });

  it('reads a 256-entry codebook and its indices for any other non-zero tag', () => {
    const table = Array.from({ length: 256 }, (_, i) => i / 2);
    const bytes = new Uint8Array(4 + 1024 + 4);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0x00000001, true);
    table.forEach((v, i) => view.setFloat32(4 + i * 4, v, true));
    bytes.set([3, 255, 0], 4 + 1024);
    const bin = new NcnnModelBin(bytes);
    expect([...bin.load(3, 0, owner)]).toEqual([1.5, 127.5, 0]);
    bin.finish();
  });

  it('refuses a float16 array whose padding is missing (odd length), naming the layer', () => {
    const bytes = new BinWriter().float16([1, 2, 3], false).bytes(); // 4 + 6 bytes, no padding
    const e = thrown(() => new NcnnModelBin(bytes).load(3, 0, owner));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/Convolution layer "conv" \(\.param line 4\) weight_data needs 3 float16 values \(8 bytes with the padding to 4\) at offset 4, but the file ends at 10/);
  });

  it('refuses a truncated array and a missing tag', () => {
    expect(thrown(() => new NcnnModelBin(new BinWriter().raw([1]).bytes()).load(2, 1, owner)).message).toMatch(/needs 2 float32 values \(8 bytes\) at offset 0, but the file ends at 4/);
    expect(thrown(() => new NcnnModelBin(new Uint8Array(2)).load(1, 0, owner)).message).toMatch(/needs its storage tag \(4 bytes\) at offset 0, but the file ends at 2/);
  });

  it('never allocates what the file cannot hold', () => {
    const e = thrown(() => new NcnnModelBin(new Uint8Array(8)).load(2 ** 31 - 1, 1, owner));
    expect(e).toBeInstanceOf(BadCheckpointError);
    expect(e.message).toMatch(/\(8589934588 bytes\) at offset 0, but the file ends at 8/);
    expect(thrown(() => new NcnnModelBin(new Uint8Array(8)).load(0, 1, owner)).message).toMatch(/declares 0 values/);
  });

  it('refuses bytes left over after the last layer', () => {
    const bin = new NcnnModelBin(new BinWriter().raw([1, 2]).bytes());
    bin.load(1, 1, owner);
    expect(() => bin.finish()).toThrow(/8 bytes but the \.param's layers read 4: 4 bytes are left over/);
  });

  it('names int8 weights as unsupported', () => {
    const bytes = new BinWriter().tag(NCNN_TAG_INT8).raw([0]).bytes();
    const e = thrown(() => new NcnnModelBin(bytes).load(3, 0, owner));
    expect(e).toBeInstanceOf(UnsupportedArchitectureError);
    expect(e.message).toMatch(/"conv".*int8/);
  });
});
