import { BadCheckpointError } from '@superres/core';
import { checkpointByteBudget } from './budget.js';
import { readSafetensors, looksLikeSafetensors } from './safetensors.js';
import { extractStateDict } from './state-dict.js';
import { looksLikeTorchLegacy, looksLikeTorchTar, readTorchLegacy } from './torch-legacy.js';
import { readTorchZip } from './torch-zip.js';
import type { Checkpoint, CheckpointFormat } from './types.js';
import { looksLikeZip } from './zip.js';

export { extractStateDict, type ExtractedStateDict } from './state-dict.js';

/** Which checkpoint container the bytes hold, from their first bytes; undefined when none. */
export function sniffCheckpointFormat(bytes: Uint8Array): CheckpointFormat | undefined {
  if (looksLikeZip(bytes)) return 'pytorch-zip';
  if (looksLikeTorchLegacy(bytes)) return 'pytorch-legacy';
  if (looksLikeSafetensors(bytes)) return 'safetensors';
  // The tar format of torch 0.1.x: the legacy reader names it and refuses it.
  if (looksLikeTorchTar(bytes)) return 'pytorch-legacy';
  return undefined;
}

/**
 * Reads a checkpoint's state dict without executing anything in it: the PyTorch zip format
 * (`torch.save` since torch 1.6), the legacy PyTorch format before it, and safetensors.
 */
export function readCheckpoint(bytes: Uint8Array): Checkpoint {
  const format = sniffCheckpointFormat(bytes);
  switch (format) {
    case 'pytorch-zip':
      return fromRoot(format, readTorchZip(bytes).root, bytes.length);
    case 'pytorch-legacy':
      return fromRoot(format, readTorchLegacy(bytes).root, bytes.length);
    case 'safetensors': {
      const { stateDict } = readSafetensors(bytes);
      if (stateDict.size === 0) throw new BadCheckpointError('safetensors file holds no tensors', { details: { format } });
      return { format, stateDict };
    }
    default:
      throw new BadCheckpointError(unsupportedMessage(bytes), { details: { format: bytes.length === 0 ? 'empty' : 'unknown' } });
  }
}

function fromRoot(format: CheckpointFormat, root: unknown, fileBytes: number): Checkpoint {
  const { nestedKey, stateDict } = extractStateDict(root, { maxBytes: checkpointByteBudget(fileBytes) });
  return nestedKey === undefined ? { format, stateDict } : { format, nestedKey, stateDict };
}

function unsupportedMessage(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'Checkpoint is empty (0 bytes)';
  if (bytes[0] === 0x08) return 'File looks like an ONNX model, not a checkpoint (.pth or .safetensors)';
  return 'Not a checkpoint: expected a PyTorch zip or legacy checkpoint (.pth) or a safetensors file';
}
