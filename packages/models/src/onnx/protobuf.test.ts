import { describe, expect, it } from 'vitest';
import { ProtoWriter, WireType, float32LittleEndianBytes, int64LittleEndianBytes } from './protobuf.js';

const bytes = (w: ProtoWriter): number[] => [...w.finish()];
const varint = (v: number | bigint): number[] => bytes(new ProtoWriter().varint(v));

describe('ProtoWriter varints', () => {
  it('encodes small and boundary values', () => {
    expect(varint(0)).toEqual([0]);
    expect(varint(1)).toEqual([1]);
    expect(varint(127)).toEqual([0x7f]);
    expect(varint(128)).toEqual([0x80, 0x01]);
    expect(varint(300)).toEqual([0xac, 0x02]);
    expect(varint(16383)).toEqual([0xff, 0x7f]);
    expect(varint(16384)).toEqual([0x80, 0x80, 0x01]);
  });

  it('encodes values beyond 32 bits without truncation', () => {
    expect(varint(2 ** 31)).toEqual([0x80, 0x80, 0x80, 0x80, 0x08]);
    expect(varint(2 ** 32)).toEqual([0x80, 0x80, 0x80, 0x80, 0x10]);
    expect(varint(2 ** 35 + 5)).toEqual([0x85, 0x80, 0x80, 0x80, 0x80, 0x01]);
    // 2^53 - 1: 53 one-bits = 7 full groups + 4 bits.
    expect(varint(Number.MAX_SAFE_INTEGER)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(varint(Number.MAX_SAFE_INTEGER)).toEqual(varint(BigInt(Number.MAX_SAFE_INTEGER)));
    expect(varint(2n ** 53n)).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
  });

  it('encodes negative int64 as a 10-byte two-complement varint', () => {
    const minusOne = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(varint(-1)).toEqual(minusOne);
    expect(varint(-1n)).toEqual(minusOne);
    expect(varint(2n ** 64n - 1n)).toEqual(minusOne);
    expect(varint(-2)).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(varint(-(2n ** 63n))).toEqual([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(varint(2n ** 63n - 1n)).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
  });

  it('rejects values it cannot encode exactly', () => {
    expect(() => varint(2 ** 53)).toThrow(RangeError);
    expect(() => varint(1.5)).toThrow(RangeError);
    expect(() => varint(Number.NaN)).toThrow(RangeError);
    expect(() => varint(2n ** 64n)).toThrow(RangeError);
    expect(() => varint(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });
});

describe('ProtoWriter fields', () => {
  it('writes tags with field number and wire type', () => {
    expect(bytes(new ProtoWriter().int64Field(1, 8))).toEqual([0x08, 0x08]);
    expect(bytes(new ProtoWriter().tag(20, WireType.Varint))).toEqual([0xa0, 0x01]);
    expect(bytes(new ProtoWriter().tag(16, WireType.LengthDelimited))).toEqual([0x82, 0x01]);
    expect(() => new ProtoWriter().tag(0, WireType.Varint)).toThrow(RangeError);
  });

  it('writes fixed-width values little-endian', () => {
    expect(bytes(new ProtoWriter().floatField(2, 1))).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect(bytes(new ProtoWriter().doubleField(1, 1))).toEqual([0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    expect(bytes(new ProtoWriter().fixed32Field(1, 0x01020304))).toEqual([0x0d, 4, 3, 2, 1]);
    expect(bytes(new ProtoWriter().fixed64Field(1, -1n))).toEqual([0x09, 255, 255, 255, 255, 255, 255, 255, 255]);
  });

  it('writes strings as UTF-8, length-delimited', () => {
    expect(bytes(new ProtoWriter().stringField(1, 'CRD'))).toEqual([0x0a, 3, 0x43, 0x52, 0x44]);
    expect(bytes(new ProtoWriter().stringField(1, 'é'))).toEqual([0x0a, 2, 0xc3, 0xa9]);
    expect(bytes(new ProtoWriter().stringField(2, ''))).toEqual([0x12, 0]);
  });

  it('writes packed floats as one length-delimited run of fixed32', () => {
    expect(bytes(new ProtoWriter().packedFloatField(4, [1, -2.5]))).toEqual([
      0x22, 8, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,
    ]);
    expect(bytes(new ProtoWriter().packedFloatField(4, new Float32Array([1])))).toEqual([0x22, 4, 0, 0, 0x80, 0x3f]);
    expect(bytes(new ProtoWriter().packedFloatField(4, []))).toEqual([]);
  });

  it('writes packed varints and doubles', () => {
    expect(bytes(new ProtoWriter().packedVarintField(7, [1, 300, -1]))).toEqual([
      0x3a, 13, 1, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    expect(bytes(new ProtoWriter().packedDoubleField(10, [1]))).toEqual([0x52, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  });

  it('nests messages with the right length prefix', () => {
    const w = new ProtoWriter().messageField(8, (o) => o.stringField(1, '').int64Field(2, 17));
    expect(bytes(w)).toEqual([0x42, 4, 0x0a, 0x00, 0x10, 0x11]);
    const deep = new ProtoWriter().messageField(1, (a) => a.messageField(2, (b) => b.int64Field(3, 1)));
    expect(bytes(deep)).toEqual([0x0a, 4, 0x12, 2, 0x18, 1]);
  });

  it('splices large referenced payloads in order, across many scratch flushes', () => {
    const big = new Uint8Array(10_000).map((_, i) => i % 251);
    const w = new ProtoWriter();
    for (let i = 0; i < 3000; i++) w.int64Field(1, i);
    w.messageField(2, (m) => m.bytesField(9, big).int64Field(1, 5));
    const out = w.finish();
    expect(out.length).toBe(w.length);
    // tag(2, LEN) len(10005) tag(9, LEN) len(10000) big tag(1) 5
    const head = out.length - 10_000 - 2 - 6;
    expect([...out.subarray(head, head + 6)]).toEqual([0x12, 0x95, 0x4e, 0x4a, 0x90, 0x4e]);
    expect([...out.subarray(head + 6, head + 6 + 10_000)]).toEqual([...big]);
    expect([...out.subarray(out.length - 2)]).toEqual([0x08, 5]);
    const ints = new ProtoWriter();
    for (let i = 0; i < 3000; i++) ints.int64Field(1, i);
    expect([...out.subarray(0, head)]).toEqual([...ints.finish()]);
  });

  it('exposes little-endian bytes of float32 and int64 arrays', () => {
    expect([...float32LittleEndianBytes(new Float32Array([1]))]).toEqual([0, 0, 0x80, 0x3f]);
    expect([...float32LittleEndianBytes([-2.5])]).toEqual([0, 0, 0x20, 0xc0]);
    expect([...int64LittleEndianBytes(new BigInt64Array([-2n]))]).toEqual([0xfe, 255, 255, 255, 255, 255, 255, 255]);
    const sub = new Float32Array([0, 1, 2]).subarray(1, 2);
    expect([...float32LittleEndianBytes(sub)]).toEqual([0, 0, 0x80, 0x3f]);
  });
});
