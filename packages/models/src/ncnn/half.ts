/** IEEE 754 binary16 to float32, every bit pattern (subnormals, infinities, NaN) included. */
const HALF_TABLE = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let value: number;
    if (exponent === 0) value = mantissa * 2 ** -24;
    else if (exponent === 31) value = mantissa === 0 ? Infinity : NaN;
    else value = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[h] = sign * value;
  }
  return table;
})();

export function halfToFloat(bits: number): number {
  return HALF_TABLE[bits & 0xffff]!;
}

/** `count` little-endian halves from `bytes` at `offset` as float32. */
export function decodeHalves(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0, at = offset; i < count; i++, at += 2) out[i] = HALF_TABLE[bytes[at]! | (bytes[at + 1]! << 8)]!;
  return out;
}
