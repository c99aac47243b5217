import { UnsupportedArchitectureError } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { buildSrvggOnnx, detectSrvgg, type SrvggOverrides } from './srvgg.js';

export interface BuiltGraph {
  architecture: string;
  hyperparameters: Record<string, unknown>;
  geometry: { scale: number; alignment: number; receptiveRadius: number };
  onnx: Uint8Array;
}

export type ArchitectureOverrides = SrvggOverrides;

/** Names the architecture a state dict belongs to and builds its ONNX graph. */
export function buildGraphFromStateDict(stateDict: StateDict, overrides: ArchitectureOverrides = {}): BuiltGraph {
  if (detectSrvgg(stateDict, overrides)) {
    const built = buildSrvggOnnx(stateDict, overrides);
    return {
      architecture: 'SRVGGNetCompact',
      hyperparameters: { ...built.hyper },
      geometry: built.geometry,
      onnx: built.onnx,
    };
  }
  const sample = [...stateDict.keys()].slice(0, 5).join(', ');
  throw new UnsupportedArchitectureError(
    `No supported architecture matches this state dict (${stateDict.size} tensors, first: ${sample || 'none'}); supported: SRVGGNetCompact`,
  );
}
