/**
 * The ncnn `.bin` file: every layer's weights, concatenated in layer order, each read the way
 * ncnn's ModelBinFromDataReader::load(w, type) reads it (facts from ncnn's src/modelbin.cpp):
 *
 * - type 1: `w` raw little-endian float32 values, no tag (biases, PReLU slopes, ...).
 * - type 0: a 4-byte little-endian tag first, then by tag:
 *   - 0x01306B47: `w` float16 values, padded to a multiple of 4 bytes;
 *   - 0x000D4B38: `w` int8 values, padded to 4 bytes (for ncnn's int8 inference);
 *   - 0x0002C056: `w` raw float32 values;
 *   - any other tag whose four bytes are not all zero: a 256-entry float32 table, then `w` uint8
 *     indices into it, padded to 4 bytes;
 *   - 0 (all four bytes zero): `w` raw float32 values.
 *
 * Every read is checked against the file's length before anything is allocated, so a count in a
 * damaged .param cannot make us allocate more than the file holds.
 */
import { BadCheckpointError, UnsupportedArchitectureError } from '@superres/core';
import { decodeHalves } from './half.js';
import type { NcnnLayer } from './param.js';

export const NCNN_TAG_FLOAT16 = 0x01306b47;
export const NCNN_TAG_INT8 = 0x000d4b38;
export const NCNN_TAG_FLOAT32 = 0x0002c056;

/** How a weight array was stored: counted for `inspect` and the plugin's info. */
export type NcnnStorage = 'float32' | 'float16' | 'quantized';

/** The layer and the array a read is for, to name them in errors. */
export interface WeightOwner {
  readonly layer: NcnnLayer;
  /** ncnn's name for the array: weight_data, bias_data, slope_data, ... */
  readonly what: string;
}

const align4 = (n: number) => Math.ceil(n / 4) * 4;

/** One array read, as reported to `onLoad`. */
export interface WeightRead {
  readonly layer: NcnnLayer;
  readonly what: string;
  readonly count: number;
  readonly storage: NcnnStorage;
}

export class NcnnModelBin {
  private position = 0;
  private readonly view: DataView;
  /** Values read, by storage. */
  readonly storage: Record<NcnnStorage, number> = { float32: 0, float16: 0, quantized: 0 };

  constructor(
    private readonly bytes: Uint8Array,
    private readonly onLoad?: (read: WeightRead) => void,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  get length(): number {
    return this.bytes.length;
  }

  /** `count` values for `owner`, read as ncnn's load(count, type) does. */
  load(count: number, type: 0 | 1, owner: WeightOwner): Float32Array {
    if (!Number.isSafeInteger(count) || count <= 0) {
      throw this.bad(owner, `declares ${count} values (the layer's parameters give no size for it)`);
    }
    if (type === 1) return this.float32(count, owner);
    const tag = this.take(4, owner, 'its storage tag (4 bytes)');
    const flag = this.view.getUint32(tag, true);
    if (flag === NCNN_TAG_FLOAT16) {
      const start = this.take(align4(count * 2), owner, `${count} float16 values (${align4(count * 2)} bytes with the padding to 4)`);
      this.counted(owner, count, 'float16');
      return decodeHalves(this.bytes, start, count);
    }
    if (flag === NCNN_TAG_INT8) {
      throw new UnsupportedArchitectureError(
        `${describe(owner)} is stored as int8 (tag 0x000D4B38) for ncnn's int8 inference, which superres does not convert: use the float16 or float32 model`,
        { details: { format: 'ncnn', layer: owner.layer.name, type: owner.layer.type } },
      );
    }
    if (flag === NCNN_TAG_FLOAT32 || flag === 0) return this.float32(count, owner);
    // Any other non-zero tag: a 256-entry codebook and one uint8 index per value.
    const table = this.take(256 * 4, owner, 'its 256-entry quantization table (1024 bytes)');
    const indices = this.take(align4(count), owner, `${count} quantization indices (${align4(count)} bytes with the padding to 4)`);
    const values = new Float32Array(256);
    for (let i = 0; i < 256; i++) values[i] = this.view.getFloat32(table + i * 4, true);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = values[this.bytes[indices + i]!]!;
    this.counted(owner, count, 'quantized');
    return out;
  }

  /** Throws unless every byte was read: a .bin longer than its .param needs belongs elsewhere. */
  finish(): void {
    const left = this.bytes.length - this.position;
    if (left !== 0) {
      throw new BadCheckpointError(
        `ncnn .bin is ${this.bytes.length} bytes but the .param's layers read ${this.position}: ${left} bytes are left over (the .bin does not belong to this .param)`,
        { details: { format: 'ncnn', bytes: this.bytes.length, read: this.position } },
      );
    }
  }

  private float32(count: number, owner: WeightOwner): Float32Array {
    const start = this.take(count * 4, owner, `${count} float32 values (${count * 4} bytes)`);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.view.getFloat32(start + i * 4, true);
    this.counted(owner, count, 'float32');
    return out;
  }

  private counted(owner: WeightOwner, count: number, storage: NcnnStorage): void {
    this.storage[storage] += count;
    this.onLoad?.({ layer: owner.layer, what: owner.what, count, storage });
  }

  /** Reserves `size` bytes; returns where they start. */
  private take(size: number, owner: WeightOwner, what: string): number {
    const start = this.position;
    if (size > this.bytes.length - start) {
      throw this.bad(
        owner,
        `needs ${what} at offset ${start}, but the file ends at ${this.bytes.length}: the .bin is truncated or does not belong to this .param`,
        { offset: start, needed: size, bytes: this.bytes.length },
      );
    }
    this.position = start + size;
    return start;
  }

  private bad(owner: WeightOwner, message: string, details: Record<string, unknown> = {}): BadCheckpointError {
    return new BadCheckpointError(`ncnn .bin: ${describe(owner)} ${message}`, {
      details: { format: 'ncnn', layer: owner.layer.name, type: owner.layer.type, line: owner.layer.line, ...details },
    });
  }
}

function describe(owner: WeightOwner): string {
  return `${owner.layer.type} layer "${owner.layer.name}" (.param line ${owner.layer.line}) ${owner.what}`;
}
