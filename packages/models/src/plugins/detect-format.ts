import { sniffCheckpointFormat } from '../checkpoint/read-checkpoint.js';

/**
 * What a model file is, told from its first bytes (extensions lie). `ncnn` is an ncnn `.param`
 * text (its weights are the `.bin` beside it).
 */
export type ModelFileFormat = 'pytorch-zip' | 'pytorch-legacy' | 'safetensors' | 'onnx' | 'ncnn' | 'unknown';


export function detectModelFormat(bytes: Uint8Array): ModelFileFormat {
  const checkpoint = sniffCheckpointFormat(bytes);
  if (checkpoint) return checkpoint;
  // ModelProto opens with field 1 (ir_version, varint): tag byte 0x08.
  if (bytes.length >= 2 && bytes[0] === 0x08) return 'onnx';
  if (looksLikeNcnnParam(bytes)) return 'ncnn';
  return 'unknown';
}

/** An ncnn .param text opens with its magic number, 7767517, then whitespace (a UTF-8 BOM and blank space may precede it). */
function looksLikeNcnnParam(bytes: Uint8Array): boolean {
  const head = String.fromCharCode(...bytes.subarray(0, 32));
  return /^(\xef\xbb\xbf)?\s*7767517\s/.test(head);
}
