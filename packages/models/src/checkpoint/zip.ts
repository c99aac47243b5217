import { BadCheckpointError } from '@superres/core';
import { inflateSync } from 'fflate';

/**
 * A minimal, read-only zip reader for PyTorch archives: central directory (with ZIP64), local
 * headers, STORED and DEFLATE entries. Data is read lazily; stored entries are `subarray` views
 * of the input, never copies. CRCs are not verified (checkpoints are sha256-checked on download,
 * and hashing hundreds of MB again would cost more than it protects).
 */

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** The entry's bytes: a view of the archive when stored, a fresh buffer when deflated. */
  data(): Uint8Array;
}

export interface ZipArchive {
  /** Entries by name, in central directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const EOCD64_LOCATOR_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** True when the bytes start like a zip archive (a local header, or the EOCD of an empty zip). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = readU32(bytes, 0);
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

export interface ReadZipOptions {
  /** Most bytes all compressed entries together may inflate to (a zip bomb stops here). Default: unbounded. */
  maxInflatedBytes?: number;
}

export function readZip(bytes: Uint8Array, options: ReadZipOptions = {}): ZipArchive {
  const eocd = findEndOfCentralDirectory(bytes);
  const entries = new Map<string, ZipEntry>();
  let pos = eocd.cdOffset;
  const cdEnd = eocd.cdOffset + eocd.cdSize;
  const budget = { left: options.maxInflatedBytes ?? Number.POSITIVE_INFINITY, limit: options.maxInflatedBytes ?? Number.POSITIVE_INFINITY };
  for (let i = 0; i < eocd.entryCount; i++) {
    const entry = readCentralEntry(bytes, pos, cdEnd, budget);
    if (entries.has(entry.name)) fail(`duplicate zip entry "${entry.name}"`);
    entries.set(entry.name, entry);
    pos = entry.next;
  }
  return { entries };
}

interface Eocd {
  entryCount: number;
  cdOffset: number;
  cdSize: number;
}

function findEndOfCentralDirectory(bytes: Uint8Array): Eocd {
  if (bytes.length < EOCD_SIZE) fail(`zip archive too short (${bytes.length} bytes)`);
  // The record is 22 bytes plus a comment of up to 65535 bytes; search backwards and accept only
  // a candidate whose comment length reaches exactly the end of the file.
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - U16_MAX);
  let at = -1;
  for (let p = bytes.length - EOCD_SIZE; p >= lowest; p--) {
    if (readU32(bytes, p) === SIG_EOCD && p + EOCD_SIZE + readU16(bytes, p + 20) === bytes.length) {
      at = p;
      break;
    }
  }
  if (at < 0) fail('no end of central directory record found (the file is truncated or not a zip archive)');
  const disk = readU16(bytes, at + 4);
  const cdDisk = readU16(bytes, at + 6);
  let entryCount = readU16(bytes, at + 10);
  let cdSize = readU32(bytes, at + 12);
  let cdOffset = readU32(bytes, at + 16);
  const locatorAt = at - EOCD64_LOCATOR_SIZE;
  const hasZip64 = locatorAt >= 0 && readU32(bytes, locatorAt) === SIG_EOCD64_LOCATOR;
  if (hasZip64) {
    const eocd64At = readU64(bytes, locatorAt + 8, 'ZIP64 end of central directory offset');
    if (eocd64At + 56 > locatorAt || readU32(bytes, eocd64At) !== SIG_EOCD64) {
      fail(`bad ZIP64 end of central directory record at offset ${eocd64At}`);
    }
    if (readU32(bytes, eocd64At + 16) !== 0 || readU32(bytes, eocd64At + 20) !== 0) {
      fail('multi-disk zip archives are not supported');
    }
    entryCount = readU64(bytes, eocd64At + 32, 'ZIP64 entry count');
    cdSize = readU64(bytes, eocd64At + 40, 'ZIP64 central directory size');
    cdOffset = readU64(bytes, eocd64At + 48, 'ZIP64 central directory offset');
  } else {
    if (disk !== 0 || cdDisk !== 0) fail('multi-disk zip archives are not supported');
    if (entryCount === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      fail('zip archive needs ZIP64 fields but has no ZIP64 end of central directory locator');
    }
  }
  if (cdOffset + cdSize > (hasZip64 ? locatorAt : at)) {
    fail(`central directory (offset ${cdOffset}, ${cdSize} bytes) runs past its end record: truncated archive`);
  }
  // Each entry takes at least 46 bytes: a larger count is a lie, not a reason to loop.
  if (entryCount * CENTRAL_SIZE > cdSize) fail(`zip claims ${entryCount} entries in ${cdSize} bytes`);
  return { entryCount, cdOffset, cdSize };
}

interface CentralEntry extends ZipEntry {
  readonly next: number;
}

interface InflateBudget {
  left: number;
  readonly limit: number;
}

function readCentralEntry(bytes: Uint8Array, pos: number, cdEnd: number, budget: InflateBudget): CentralEntry {
  if (pos + CENTRAL_SIZE > cdEnd) fail(`central directory entry at offset ${pos} runs past the directory`);
  if (readU32(bytes, pos) !== SIG_CENTRAL) fail(`bad central directory signature at offset ${pos}`);
  const flags = readU16(bytes, pos + 8);
  const method = readU16(bytes, pos + 10);
  let compressedSize = readU32(bytes, pos + 20);
  let size = readU32(bytes, pos + 24);
  const nameLen = readU16(bytes, pos + 28);
  const extraLen = readU16(bytes, pos + 30);
  const commentLen = readU16(bytes, pos + 32);
  let diskStart = readU16(bytes, pos + 34);
  let localHeaderOffset = readU32(bytes, pos + 42);
  const next = pos + CENTRAL_SIZE + nameLen + extraLen + commentLen;
  if (next > cdEnd) fail(`central directory entry at offset ${pos} runs past the directory`);
  const name = decodeName(bytes.subarray(pos + CENTRAL_SIZE, pos + CENTRAL_SIZE + nameLen));

  // ZIP64 extended information: present only for the fields saturated in the fixed header, in order.
  const extra = bytes.subarray(pos + CENTRAL_SIZE + nameLen, pos + CENTRAL_SIZE + nameLen + extraLen);
  for (let e = 0; e + 4 <= extra.length; ) {
    const id = readU16(extra, e);
    const len = readU16(extra, e + 2);
    if (e + 4 + len > extra.length) fail(`bad extra field in zip entry "${name}"`);
    if (id === 0x0001) {
      let f = e + 4;
      const take = (what: string): number => {
        if (f + 8 > e + 4 + len) fail(`ZIP64 extra field of "${name}" lacks the ${what}`);
        const v = readU64(extra, f, `ZIP64 ${what} of "${name}"`);
        f += 8;
        return v;
      };
      if (size === U32_MAX) size = take('size');
      if (compressedSize === U32_MAX) compressedSize = take('compressed size');
      if (localHeaderOffset === U32_MAX) localHeaderOffset = take('local header offset');
      if (diskStart === U16_MAX) diskStart = 0;
    }
    e += 4 + len;
  }

  if (flags & 0x1) fail(`zip entry "${name}" is encrypted`);
  if (method !== 0 && method !== 8) fail(`zip entry "${name}" uses unsupported compression method ${method}`);
  if (method === 0 && compressedSize !== size) {
    fail(`stored zip entry "${name}" has compressed size ${compressedSize} but size ${size}`);
  }
  if (diskStart !== 0) fail('multi-disk zip archives are not supported');

  const dataStart = localDataStart(bytes, localHeaderOffset, name);
  if (dataStart + compressedSize > bytes.length) {
    fail(`zip entry "${name}" (${compressedSize} bytes at offset ${dataStart}) runs past the end of the file: truncated archive`);
  }
  let inflated: Uint8Array | undefined;
  const data = (): Uint8Array => {
    const raw = bytes.subarray(dataStart, dataStart + compressedSize);
    if (method === 0) return raw;
    if (inflated) return inflated;
    // Charged before allocating: the declared size is the attacker's to choose.
    if (size > budget.left) {
      fail(`zip entry "${name}" would inflate to ${size} bytes, past the ${budget.limit} bytes this ${bytes.length}-byte file may expand to`);
    }
    budget.left -= size;
    inflated = inflate(raw, size, name);
    return inflated;
  };
  return { name, method, compressedSize, size, localHeaderOffset, data, next };
}

/** The local header repeats the name but may carry a different extra field (PyTorch pads there). */
function localDataStart(bytes: Uint8Array, offset: number, name: string): number {
  if (offset + LOCAL_SIZE > bytes.length) fail(`local header of "${name}" at offset ${offset} is past the end of the file`);
  if (readU32(bytes, offset) !== SIG_LOCAL) fail(`bad local header signature for "${name}" at offset ${offset}`);
  const nameLen = readU16(bytes, offset + 26);
  const extraLen = readU16(bytes, offset + 28);
  const start = offset + LOCAL_SIZE + nameLen + extraLen;
  if (start > bytes.length) fail(`local header of "${name}" runs past the end of the file`);
  const localName = decodeName(bytes.subarray(offset + LOCAL_SIZE, offset + LOCAL_SIZE + nameLen));
  if (localName !== name) fail(`local header name "${localName}" does not match central directory name "${name}"`);
  return start;
}

function inflate(raw: Uint8Array, size: number, name: string): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflateSync(raw, { out: new Uint8Array(size) });
  } catch (cause) {
    throw new BadCheckpointError(`zip entry "${name}" has corrupt deflate data`, { cause });
  }
  if (out.length !== size) fail(`zip entry "${name}" inflated to ${out.length} bytes, expected ${size}`);
  return out;
}

const utf8 = new TextDecoder('utf-8');

function decodeName(raw: Uint8Array): string {
  return utf8.decode(raw);
}

function readU16(b: Uint8Array, p: number): number {
  if (p + 2 > b.length) fail(`unexpected end of zip data at offset ${p}`);
  return (b[p] as number) | ((b[p + 1] as number) << 8);
}

function readU32(b: Uint8Array, p: number): number {
  if (p + 4 > b.length) fail(`unexpected end of zip data at offset ${p}`);
  return ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) + (b[p + 3] as number) * 0x1000000;
}

/** A 64-bit little-endian size or offset; anything past 2^53 cannot be a real offset here. */
function readU64(b: Uint8Array, p: number, what: string): number {
  const lo = readU32(b, p);
  const hi = readU32(b, p + 4);
  if (hi >= 0x200000) fail(`${what} is too large (${hi} * 2^32)`);
  return hi * 0x100000000 + lo;
}

function fail(message: string): never {
  throw new BadCheckpointError(`Bad zip archive: ${message}`);
}
