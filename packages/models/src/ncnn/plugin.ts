import type { FilePlugin } from '../plugins/file-plugin.js';
import { convertNcnn, NCNN_ARCHITECTURE } from './convert.js';

/**
 * A plugin for an ncnn model (a `.param` text and its `.bin` weights), the same shape as
 * pluginFromCheckpoint's. The graph is built once, up front: its geometry comes from the layers.
 */
export function pluginFromNcnn(id: string, paramText: string, binBytes: Uint8Array): FilePlugin {
  const { onnx, geometry, hyperparameters } = convertNcnn(paramText, binBytes);
  return {
    id,
    kind: 'upscaler',
    description: `ncnn model x${geometry.scale} (.param/.bin)`,
    ...geometry,
    info: { format: 'ncnn', architecture: NCNN_ARCHITECTURE, hyperparameters: { ...hyperparameters } },
    // The weights were read above; the graph ignores bytes handed to it.
    toOnnx: async () => onnx,
  };
}
