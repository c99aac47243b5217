import { deflateSync } from 'fflate';

/** Test helper: writes small zip archives, with knobs for the cases the reader must handle. */

export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array | string;
  /** Deflate instead of store. */
  readonly deflate?: boolean;
  /** Extra field bytes in the local header only (PyTorch pads its data to 64 bytes there). */
  readonly localExtra?: Uint8Array;
}

export interface ZipOptions {
  readonly comment?: string;
  /** Write ZIP64 records and saturate the 32-bit fields, as large archives do. */
  readonly zip64?: boolean;
  /** Set the "encrypted" flag on every entry. */
  readonly encrypted?: boolean;
  /** Compression method to claim for stored entries (to test unsupported methods). */
  readonly method?: number;
}

const enc = new TextEncoder();

export function writeZip(inputs: readonly ZipInput[], options: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const flags = options.encrypted ? 1 : 0;
  for (const input of inputs) {
    const name = enc.encode(input.name);
    const raw = typeof input.data === 'string' ? enc.encode(input.data) : input.data;
    const body = input.deflate ? deflateSync(raw) : raw;
    const method = input.deflate ? 8 : (options.method ?? 0);
    const crc = crc32(raw);
    const localExtra = input.localExtra ?? new Uint8Array(0);
    const local = new Bytes(30 + name.length + localExtra.length);
    local.u32(0x04034b50).u16(20).u16(flags).u16(method).u16(0).u16(0).u32(crc);
    local.u32(body.length).u32(raw.length).u16(name.length).u16(localExtra.length).bytes(name).bytes(localExtra);
    parts.push(local.out, body);

    const zip64Extra = new Bytes(options.zip64 ? 4 + 24 : 0);
    if (options.zip64) zip64Extra.u16(1).u16(24).u64(raw.length).u64(body.length).u64(offset);
    const cd = new Bytes(46 + name.length + zip64Extra.out.length);
    const sat = (v: number): number => (options.zip64 ? 0xffffffff : v);
    cd.u32(0x02014b50).u16(20).u16(20).u16(flags).u16(method).u16(0).u16(0).u32(crc);
    cd.u32(sat(body.length)).u32(sat(raw.length)).u16(name.length).u16(zip64Extra.out.length).u16(0);
    cd.u16(0).u16(0).u32(0).u32(sat(offset)).bytes(name).bytes(zip64Extra.out);
    central.push(cd.out);
    offset += local.out.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const tail: Uint8Array[] = [];
  if (options.zip64) {
    const eocd64At = cdOffset + cdSize;
    const rec = new Bytes(56);
    rec.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0);
    rec.u64(inputs.length).u64(inputs.length).u64(cdSize).u64(cdOffset);
    const loc = new Bytes(20);
    loc.u32(0x07064b50).u32(0).u64(eocd64At).u32(1);
    tail.push(rec.out, loc.out);
  }
  const comment = enc.encode(options.comment ?? '');
  const eocd = new Bytes(22 + comment.length);
  const count = options.zip64 ? 0xffff : inputs.length;
  eocd.u32(0x06054b50).u16(0).u16(0).u16(count).u16(count);
  eocd.u32(options.zip64 ? 0xffffffff : cdSize).u32(options.zip64 ? 0xffffffff : cdOffset).u16(comment.length).bytes(comment);
  return concat([...parts, ...central, ...tail, eocd.out]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

class Bytes {
  readonly out: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  constructor(size: number) {
    this.out = new Uint8Array(size);
    this.view = new DataView(this.out.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.at, v, true);
    this.at += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.out.set(b, this.at);
    this.at += b.length;
    return this;
  }
}

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
