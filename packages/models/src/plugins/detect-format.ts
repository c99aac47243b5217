/** What a model file is, told from its first bytes (extensions lie). */
export type ModelFileFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors' | 'onnx' | 'unknown';

export function detectModelFormat(bytes: Uint8Array): ModelFileFormat {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return 'pytorch-zip';
  }
  // Legacy torch.save: a pickle (protocol 2) holding the magic number comes first.
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5) {
    return 'pytorch-legacy';
  }
  if (bytes.length >= 9) {
    const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
    if (headerLength > 1n && headerLength < BigInt(bytes.length) && bytes[8] === 0x7b /* { */) return 'safetensors';
  }
  // ModelProto opens with field 1 (ir_version, varint): tag byte 0x08.
  if (bytes.length >= 2 && bytes[0] === 0x08) return 'onnx';
  return 'unknown';
}
