/**
 * A minimal protobuf wire-format encoder: just what writing an ONNX ModelProto needs.
 *
 * Large payloads (tensor bytes) are kept by reference and nested messages are spliced in as
 * part lists, so a model is copied exactly once, in `finish()`.
 */

export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  Fixed32: 5,
} as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** Byte arrays at least this long are referenced instead of copied into the scratch buffer. */
const REFERENCE_THRESHOLD = 256;
/** Scratch starts small (most messages are tiny) and doubles up to this. */
const INITIAL_SCRATCH = 64;
const MAX_SCRATCH = 65536;

const textEncoder = new TextEncoder();

export const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch = new Uint8Array(INITIAL_SCRATCH);
  private used = 0;
  private flushedLength = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.flushedLength + this.used;
  }

  // ---- raw values -------------------------------------------------------------------------

  /**
   * An unsigned or two's-complement varint. Numbers must be safe integers; a negative value is
   * written as its 64-bit two's complement (10 bytes), as protobuf does for int64/int32.
   */
  varint(value: number | bigint): this {
    if (typeof value === 'bigint') return this.bigVarint(value);
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`varint needs a safe integer or a bigint, got ${value}`);
    }
    if (value < 0) return this.bigVarint(BigInt(value));
    this.reserve(10);
    // Division, not bit operators: those truncate to 32 bits.
    let v = value;
    while (v >= 0x80) {
      this.scratch[this.used++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.scratch[this.used++] = v;
    return this;
  }

  private bigVarint(value: bigint): this {
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new RangeError(`varint ${value} does not fit in 64 bits`);
    }
    let v = BigInt.asUintN(64, value);
    this.reserve(10);
    while (v >= 0x80n) {
      this.scratch[this.used++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.used++] = Number(v);
    return this;
  }

  tag(field: number, wireType: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new RangeError(`protobuf field number out of range: ${field}`);
    }
    return this.varint(field * 8 + wireType);
  }

  /** Little-endian IEEE-754 single. */
  fixed32Float(value: number): this {
    this.reserve(4);
    new DataView(this.scratch.buffer, this.used, 4).setFloat32(0, value, true);
    this.used += 4;
    return this;
  }

  /** Little-endian IEEE-754 double. */
  fixed64Double(value: number): this {
    this.reserve(8);
    new DataView(this.scratch.buffer, this.used, 8).setFloat64(0, value, true);
    this.used += 8;
    return this;
  }

  /** Little-endian 32-bit unsigned (or two's-complement signed) integer. */
  fixed32(value: number): this {
    this.reserve(4);
    new DataView(this.scratch.buffer, this.used, 4).setUint32(0, value >>> 0, true);
    this.used += 4;
    return this;
  }

  /** Little-endian 64-bit integer; negative values are two's complement. */
  fixed64(value: number | bigint): this {
    this.reserve(8);
    new DataView(this.scratch.buffer, this.used, 8).setBigUint64(0, BigInt.asUintN(64, BigInt(value)), true);
    this.used += 8;
    return this;
  }

  /** Appends bytes verbatim. Large arrays are referenced: do not change them before finish(). */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= REFERENCE_THRESHOLD) {
      this.flush();
      this.parts.push(bytes);
      this.flushedLength += bytes.length;
      return this;
    }
    this.reserve(bytes.length);
    this.scratch.set(bytes, this.used);
    this.used += bytes.length;
    return this;
  }

  // ---- fields -----------------------------------------------------------------------------

  /** int32/int64/uint64/bool/enum field. */
  int64Field(field: number, value: number | bigint): this {
    return this.tag(field, WireType.Varint).varint(value);
  }

  floatField(field: number, value: number): this {
    return this.tag(field, WireType.Fixed32).fixed32Float(value);
  }

  doubleField(field: number, value: number): this {
    return this.tag(field, WireType.Fixed64).fixed64Double(value);
  }

  fixed32Field(field: number, value: number): this {
    return this.tag(field, WireType.Fixed32).fixed32(value);
  }

  fixed64Field(field: number, value: number | bigint): this {
    return this.tag(field, WireType.Fixed64).fixed64(value);
  }

  bytesField(field: number, bytes: Uint8Array): this {
    return this.tag(field, WireType.LengthDelimited).varint(bytes.length).raw(bytes);
  }

  stringField(field: number, value: string): this {
    return this.bytesField(field, textEncoder.encode(value));
  }

  /** An embedded message, written by `write` into a child writer and spliced in without copying. */
  messageField(field: number, write: (writer: ProtoWriter) => void): this {
    const child = new ProtoWriter();
    write(child);
    child.flush();
    this.tag(field, WireType.LengthDelimited).varint(child.length);
    this.flush();
    for (const part of child.parts) this.parts.push(part);
    this.flushedLength += child.length;
    return this;
  }

  /** A packed repeated varint field (int32/int64/uint64/bool/enum). Nothing is written when empty. */
  packedVarintField(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this;
    const body = new ProtoWriter();
    for (let i = 0; i < values.length; i++) body.varint(values[i]!);
    return this.messageField(field, (w) => w.splice(body));
  }

  /** A packed repeated float field (fixed32 each). Nothing is written when empty. */
  packedFloatField(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    return this.bytesField(field, float32LittleEndianBytes(values));
  }

  /** A packed repeated double field (fixed64 each). Nothing is written when empty. */
  packedDoubleField(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
    return this.bytesField(field, bytes);
  }

  /** Concatenates everything written into one array. */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushedLength);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  // ---- internals --------------------------------------------------------------------------

  private splice(other: ProtoWriter): void {
    other.flush();
    this.flush();
    for (const part of other.parts) this.parts.push(part);
    this.flushedLength += other.length;
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.scratch.length) return;
    this.flush();
    const grown = Math.min(this.scratch.length * 2, MAX_SCRATCH);
    if (grown > this.scratch.length || bytes > this.scratch.length) {
      this.scratch = new Uint8Array(Math.max(grown, bytes));
    }
  }

  private flush(): void {
    if (this.used === 0) return;
    this.parts.push(this.scratch.slice(0, this.used));
    this.flushedLength += this.used;
    this.used = 0;
  }
}

/** The little-endian bytes of float32 values; a view without copying on little-endian hosts. */
export function float32LittleEndianBytes(values: ArrayLike<number>): Uint8Array {
  if (values instanceof Float32Array && isLittleEndian) {
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  }
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/** The little-endian bytes of int64 values; a view without copying on little-endian hosts. */
export function int64LittleEndianBytes(values: BigInt64Array): Uint8Array {
  if (isLittleEndian) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, values[i]!, true);
  return bytes;
}
