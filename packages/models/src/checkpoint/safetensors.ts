import { BadCheckpointError } from '@superres/core';
import { materializeTensor } from './state-dict.js';
import { DTYPE_ITEM_SIZE, MAX_TENSOR_ELEMENTS } from './torch-globals.js';
import type { DType, StateDict, StorageRef } from './types.js';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`
 * (writers pad it with spaces to a multiple of 8), then the data buffer. Offsets are relative to
 * the buffer; data is little-endian, row-major. Checked as strictly as the reference reader:
 * sorted by offset, the tensors tile the buffer exactly (no gap, no overlap, nothing after).
 */

/** The reference implementation's limit on the header. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** safetensors dtype names -> ours. F8, U16, U32 and U64 exist but are refused by name. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32',
  I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsContents {
  /** `__metadata__`: free-form string pairs (e.g. `format: pt`). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in the order of their data. */
  readonly stateDict: StateDict;
}

export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10 || bytes[8] !== 0x7b /* { */) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8);
}

export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  const { metadata, tensors } = readSafetensorsHeader(bytes);
  const stateDict: StateDict = new Map();
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    const storage: StorageRef = {
      kind: 'storage',
      key: t.name,
      dtype: t.dtype,
      numel: count,
      littleEndian: true,
      bytes: () => bytes.subarray(t.begin, t.end),
    };
    stateDict.set(t.name, materializeTensor({ kind: 'tensor', storage, offset: 0, shape: t.shape, stride: rowMajor(t.shape) }));
  }
  return { metadata, stateDict };
}

/** Parses and checks the header only: enough to list the tensors without reading them. */
export function readSafetensorsHeader(bytes: Uint8Array): { metadata: Record<string, string>; tensors: SafetensorsTensorInfo[] } {
  if (bytes.length < 8) bad(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) bad(`header length ${n} exceeds ${SAFETENSORS_MAX_HEADER_BYTES} bytes`);
  const headerLength = Number(n);
  if (headerLength > bytes.length - 8) bad(`header length ${headerLength} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  const json = parseHeader(bytes.subarray(8, 8 + headerLength));
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(entry);
    else tensors.push(parseEntry(name, entry, dataStart, dataLength));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = dataStart;
  for (const t of tensors) {
    if (t.begin < expected) bad(`tensor "${t.name}" overlaps the tensor before it (bytes ${t.begin - dataStart}.. of the buffer)`);
    if (t.begin > expected) bad(`gap before tensor "${t.name}": buffer bytes ${expected - dataStart}..${t.begin - dataStart} belong to no tensor`);
    expected = t.end;
  }
  if (expected !== bytes.length) {
    bad(`tensors end at buffer byte ${expected - dataStart}, but the buffer holds ${dataLength} bytes`);
  }
  return { metadata, tensors };
}

function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) bad('header does not start with "{"');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) bad('header is not a JSON object');
  return json as Record<string, unknown>;
}

function parseMetadata(entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) bad('__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') bad(`__metadata__.${key} is ${typeof value}, not a string`);
    out[key] = value;
  }
  return out;
}

function parseEntry(name: string, entry: unknown, dataStart: number, dataLength: number): SafetensorsTensorInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) bad(`tensor "${name}" is not an object`);
  const { dtype: rawDtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  const dtype = typeof rawDtype === 'string' && Object.hasOwn(SAFETENSORS_DTYPES, rawDtype) ? SAFETENSORS_DTYPES[rawDtype] : undefined;
  if (!dtype) {
    bad(`tensor "${name}" has unsupported dtype ${JSON.stringify(rawDtype)} (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) bad(`tensor "${name}" has shape ${JSON.stringify(shape)}; expected a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    bad(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    bad(`tensor "${name}" has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data buffer`);
  }
  let count = 1;
  for (const d of shape as number[]) count *= d; // exact: stops mattering once past the limit
  if (count > MAX_TENSOR_ELEMENTS) bad(`tensor "${name}" of shape [${shape.join(', ')}] exceeds ${MAX_TENSOR_ELEMENTS} elements`);
  const byteLength = count * DTYPE_ITEM_SIZE[dtype];
  if (end - begin !== byteLength) {
    bad(`tensor "${name}" (${rawDtype as string} [${shape.join(', ')}]) needs ${byteLength} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, dtype, shape: [...(shape as number[])], begin: dataStart + begin, end: dataStart + end };
}

function rowMajor(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    stride[k] = s;
    s *= shape[k] as number;
  }
  return stride;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function bad(message: string): never {
  throw new BadCheckpointError(`Bad safetensors file: ${message}`);
}
