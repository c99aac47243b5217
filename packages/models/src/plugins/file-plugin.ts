import { BadCheckpointError, type ModelPlugin, type ModelGeometry } from '@superres/core';
import { readCheckpoint, sniffCheckpointFormat } from '../checkpoint/read-checkpoint.js';
import { buildGraphFromStateDict, type ArchitectureOverrides } from '../architectures/detect.js';
import { detectModelFormat, type ModelFileFormat } from './detect-format.js';

export interface CheckpointPluginInfo {
  format: ModelFileFormat;
  architecture: string;
  hyperparameters: Record<string, unknown>;
}

export type FilePlugin = ModelPlugin & { readonly info: CheckpointPluginInfo };

/**
 * A plugin for one checkpoint file the user hands us (not from the catalog): a PyTorch zip or
 * legacy checkpoint, or a safetensors file. The graph is built once, up front, because its
 * geometry (scale, receptive radius) comes from the tensors.
 */
export function pluginFromCheckpoint(
  id: string,
  bytes: Uint8Array,
  overrides: ArchitectureOverrides = {},
): FilePlugin {
  if (sniffCheckpointFormat(bytes) === undefined) {
    const detected = detectModelFormat(bytes);
    throw new BadCheckpointError(
      detected === 'onnx'
        ? 'File is an ONNX model, not a checkpoint: load it with pluginFromOnnx'
        : 'Not a model file: expected a PyTorch checkpoint (.pth), a safetensors file or an ONNX model',
      { details: { format: detected === 'onnx' ? 'onnx' : 'unknown' } },
    );
  }
  const checkpoint = readCheckpoint(bytes);
  const format = checkpoint.format;
  const built = buildGraphFromStateDict(checkpoint.stateDict, overrides);
  return {
    id,
    kind: 'upscaler',
    description: `${built.architecture} x${built.geometry.scale} from a ${format === 'safetensors' ? 'safetensors' : 'PyTorch'} checkpoint`,
    ...built.geometry,
    info: { format, architecture: built.architecture, hyperparameters: built.hyperparameters },
    // The weights were read above; the graph ignores a second copy of them.
    toOnnx: async () => built.onnx,
  };
}

/** A plugin for an ONNX file whose geometry the caller knows (or probed). */
export function pluginFromOnnx(id: string, geometry: ModelGeometry): ModelPlugin {
  return {
    id,
    kind: 'upscaler',
    description: `ONNX model x${geometry.scale}`,
    ...geometry,
    toOnnx: async (weights) => weights,
  };
}
