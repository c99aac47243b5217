/**
 * What an ncnn model holds, for `superres models inspect x.param`: the layers' weight arrays
 * (named "<layer>.<array>", with how the .bin stores them) and, when the graph converts, its
 * scale, alignment and receptive radius. A layer or feature superres does not convert is a
 * finding (`error`), not a failure; a damaged .param or .bin is thrown.
 */
import { isSuperresError } from '@superres/core';
import type { ModelInspection, TensorSummary } from '../inspect.js';
import { convertNcnn, NCNN_ARCHITECTURE } from './convert.js';
import { parseNcnnParam } from './param.js';

/** A ModelInspection whose format is ncnn (no `onnx` or `nestedKey` part). */
export type NcnnInspection = Omit<ModelInspection, 'format'> & { readonly format: 'ncnn' };

export function inspectNcnn(paramText: string, binBytes: Uint8Array): NcnnInspection {
  const param = parseNcnnParam(paramText);
  const tensors: TensorSummary[] = [];
  const base = () => ({ format: 'ncnn' as const, tensors, parameterCount: tensors.reduce((n, t) => n + (t.shape[0] ?? 0), 0) });
  try {
    const { geometry, hyperparameters } = convertNcnn(param, binBytes, {
      onWeights: ({ layer, what, count, storage }) => tensors.push({ name: `${layer.name}.${what}`, dtype: storage, shape: [count] }),
    });
    return {
      ...base(),
      architecture: NCNN_ARCHITECTURE,
      kind: 'upscaler',
      // Flat values: `inspect` prints each as key=value.
      hyperparameters: {
        ...hyperparameters,
        layerTypes: listed(hyperparameters.layerTypes),
        weights: listed(hyperparameters.weights),
      },
      scale: geometry.scale,
      alignment: geometry.alignment,
      receptiveRadius: geometry.receptiveRadius,
    };
  } catch (error) {
    if (isSuperresError(error) && error.code === 'E_UNSUPPORTED_ARCH') return { ...base(), error: error.message };
    throw error;
  }
}

function listed(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}:${n}`)
    .join(',');
}
