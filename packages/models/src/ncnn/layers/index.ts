/** Every ncnn layer type the converter knows, by its .param type name. */
import type { LayerConverter } from '../context.js';
import { activationLayers } from './activation.js';
import { convolutionLayers } from './convolution.js';
import { elementwiseLayers } from './elementwise.js';
import { resizeLayers } from './resize.js';
import { shapeLayers } from './shape.js';

export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  ...convolutionLayers,
  ...activationLayers,
  ...elementwiseLayers,
  ...resizeLayers,
  ...shapeLayers,
};

/** The layer types a .param may use: Input plus every converter's. */
export const SUPPORTED_NCNN_LAYERS: readonly string[] = ['Input', ...Object.keys(LAYER_CONVERTERS)].sort();
