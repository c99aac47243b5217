import { BadCheckpointError } from '@superres/core';

/**
 * A minimal protobuf wire-format reader: walks the fields of one message inside a byte range,
 * bounds-checking every length. Nested messages are handed back as ranges, so nothing is copied
 * and big payloads (tensor bytes) are skipped for free.
 */

export type ProtoField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 2; readonly start: number; readonly end: number }
  | { readonly field: number; readonly wire: 1 | 5; readonly start: number };

export interface ProtoRange {
  readonly bytes: Uint8Array;
  readonly start: number;
  readonly end: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Calls `visit` for each field of the message in `range`, in file order. */
export function readFields(range: ProtoRange, visit: (f: ProtoField) => void): void {
  const { bytes, end } = range;
  let pos = range.start;
  const varint = (): bigint => {
    const [value, next] = readVarint(bytes, pos, end);
    pos = next;
    return value;
  };
  while (pos < end) {
    const at = pos;
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field < 1 || field > 0x1fffffff) fail(`field number ${field} at byte ${at}`);
    switch (wire) {
      case 0:
        visit({ field, wire, value: varint() });
        break;
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (end - pos < size) fail(`fixed${size * 8} field ${field} runs past the end of its message at byte ${at}`);
        visit({ field, wire, start: pos });
        pos += size;
        break;
      }
      case 2: {
        const length = varint();
        if (length > BigInt(end - pos)) fail(`field ${field} declares ${length} bytes at byte ${at}, ${end - pos} left in its message`);
        const start = pos;
        pos += Number(length);
        visit({ field, wire, start, end: pos });
        break;
      }
      default:
        fail(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
    }
  }
}

/** An int64/int32 varint as a safe number (two's complement for negatives). */
export function toInt(value: bigint, what: string): number {
  const signed = BigInt.asIntN(64, value);
  if (signed > MAX_SAFE || signed < -MAX_SAFE) fail(`${what} ${signed} is out of range`);
  return Number(signed);
}

const utf8 = new TextDecoder('utf-8');

export function toText(f: ProtoField, bytes: Uint8Array, what: string): string {
  if (f.wire !== 2) fail(`${what} has wire type ${f.wire}, expected a string`);
  return utf8.decode(bytes.subarray(f.start, f.end));
}

export function subRange(f: ProtoField, bytes: Uint8Array, what: string): ProtoRange {
  if (f.wire !== 2) fail(`${what} has wire type ${f.wire}, expected a message`);
  return { bytes, start: f.start, end: f.end };
}

/** A repeated integer field, packed (one length-delimited run) or not (one tag per value). */
export function pushInts(f: ProtoField, bytes: Uint8Array, out: number[], what: string): void {
  if (f.wire === 0) {
    out.push(toInt(f.value, what));
    return;
  }
  if (f.wire !== 2) fail(`${what} has wire type ${f.wire}, expected integers`);
  // A packed run: varints back to back, without tags.
  for (let pos = f.start; pos < f.end; ) {
    const [value, next] = readVarint(bytes, pos, f.end);
    out.push(toInt(value, what));
    pos = next;
  }
}

/** One varint (at most 10 bytes) starting at `pos`, as an unsigned 64-bit value, and where it ends. */
function readVarint(bytes: Uint8Array, pos: number, end: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n, p = pos; shift < 70n; shift += 7n) {
    if (p >= end) fail(`varint runs past the end of its message at byte ${pos}`);
    const b = bytes[p++] as number;
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [BigInt.asUintN(64, value), p];
  }
  return fail(`varint longer than 10 bytes at byte ${pos}`);
}

export function fail(message: string): never {
  throw new BadCheckpointError(`Bad ONNX model: ${message}`);
}
