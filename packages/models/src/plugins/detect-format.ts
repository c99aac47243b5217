import { sniffCheckpointFormat } from '../checkpoint/read-checkpoint.js';

/** What a model file is, told from its first bytes (extensions lie). */
export type ModelFileFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors' | 'onnx' | 'unknown';

export function detectModelFormat(bytes: Uint8Array): ModelFileFormat {
  const checkpoint = sniffCheckpointFormat(bytes);
  if (checkpoint) return checkpoint;
  // ModelProto opens with field 1 (ir_version, varint): tag byte 0x08.
  if (bytes.length >= 2 && bytes[0] === 0x08) return 'onnx';
  return 'unknown';
}
