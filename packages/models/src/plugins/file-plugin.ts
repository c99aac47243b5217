import type { ModelPlugin, ModelGeometry } from '@superres/core';
import type { ArchitectureOverrides } from '../architectures/detect.js';
import { convertCheckpoint } from '../convert/convert-checkpoint.js';
import type { ModelFileFormat } from './detect-format.js';

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
  const built = convertCheckpoint(bytes, { overrides });
  const { format } = built;
  return {
    id,
    kind: built.kind,
    description: `${built.architecture}${built.kind === 'upscaler' ? ` x${built.geometry.scale}` : ''} from a ${format === 'safetensors' ? 'safetensors' : 'PyTorch'} checkpoint`,
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
