import { BadCheckpointError } from '@superres/core';
import { extractStateDict } from './state-dict.js';
import { readTorchZip } from './torch-zip.js';
import type { Checkpoint } from './types.js';
import { looksLikeZip } from './zip.js';

export { extractStateDict, type ExtractedStateDict } from './state-dict.js';

/**
 * Reads a PyTorch checkpoint's state dict without executing anything in it. Today: the zip
 * format `torch.save` writes since torch 1.6. Other formats are recognised and refused by name.
 */
export function readCheckpoint(bytes: Uint8Array): Checkpoint {
  if (looksLikeZip(bytes)) {
    const { root } = readTorchZip(bytes);
    const { nestedKey, stateDict } = extractStateDict(root);
    return nestedKey === undefined ? { format: 'pytorch-zip', stateDict } : { format: 'pytorch-zip', nestedKey, stateDict };
  }
  throw new BadCheckpointError(unsupportedMessage(bytes), { details: { format: guessFormat(bytes) } });
}

type Guess = 'empty' | 'pytorch-legacy' | 'safetensors' | 'onnx-or-unknown';

function guessFormat(bytes: Uint8Array): Guess {
  if (bytes.length === 0) return 'empty';
  // The legacy format opens with a pickled magic number: PROTO 2, then LONG1 of 10 bytes.
  if (bytes[0] === 0x80 && bytes[2] === 0x8a && bytes[3] === 0x0a) return 'pytorch-legacy';
  // safetensors: u64 little-endian header length, then a JSON object.
  if (bytes.length > 8 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0) return 'safetensors';
  return 'onnx-or-unknown';
}

function unsupportedMessage(bytes: Uint8Array): string {
  switch (guessFormat(bytes)) {
    case 'empty':
      return 'Checkpoint is empty (0 bytes)';
    case 'pytorch-legacy':
      return 'Checkpoint uses the legacy (pre-1.6, non-zip) PyTorch format, which is not supported yet; re-save it with torch.save in torch >= 1.6';
    case 'safetensors':
      return 'File looks like a safetensors file, not a PyTorch (.pth) checkpoint';
    default:
      return 'Not a PyTorch checkpoint: expected a zip archive (torch.save since torch 1.6)';
  }
}
