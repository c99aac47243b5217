import { BadCheckpointError, type ModelKind } from '@superres/core';
import { buildGraphFromStateDict, type ArchitectureGeometry, type ArchitectureOverrides } from '../architectures/detect.js';
import { readCheckpoint, sniffCheckpointFormat } from '../checkpoint/read-checkpoint.js';
import type { CheckpointFormat } from '../checkpoint/types.js';
import { detectModelFormat } from '../plugins/detect-format.js';
import { FACE_ARCHITECTURES } from '../faces/face-architectures.js';

export interface ConvertCheckpointOptions {
  overrides?: ArchitectureOverrides;
  /** Refuse a file of another architecture or scale (catalog weights). */
  expect?: { id: string; architecture: string; scale: number };
}

export interface ConvertedCheckpoint {
  onnx: Uint8Array;
  format: CheckpointFormat;
  architecture: string;
  kind: ModelKind;
  hyperparameters: Record<string, unknown>;
  geometry: ArchitectureGeometry;
}

/** Face networks have no scale worth naming. */
const label = (architecture: string, scale: number) =>
  FACE_ARCHITECTURES.some((f) => f.name === architecture) ? architecture : `${architecture} x${scale}`;

/** A checkpoint's bytes (.pth zip or legacy, .safetensors) to its ONNX graph and what it is. */
export function convertCheckpoint(bytes: Uint8Array, options: ConvertCheckpointOptions = {}): ConvertedCheckpoint {
  if (sniffCheckpointFormat(bytes) === undefined) {
    const onnx = detectModelFormat(bytes) === 'onnx';
    throw new BadCheckpointError(
      onnx
        ? 'File is an ONNX model, not a checkpoint: load it as ONNX (pluginFromOnnx, loadModelFile)'
        : 'Not a model file: expected a PyTorch checkpoint (.pth), a safetensors file or an ONNX model',
      { details: { format: onnx ? 'onnx' : 'unknown' } },
    );
  }
  const checkpoint = readCheckpoint(bytes);
  const built = buildGraphFromStateDict(checkpoint.stateDict, options.overrides);
  const { expect } = options;
  if (expect && (built.architecture !== expect.architecture || built.geometry.scale !== expect.scale)) {
    throw new BadCheckpointError(
      `Weights for "${expect.id}" should be ${label(expect.architecture, expect.scale)}, but the file holds ${label(built.architecture, built.geometry.scale)}`,
      { details: { id: expect.id, architecture: built.architecture, scale: built.geometry.scale } },
    );
  }
  const { onnx, architecture, kind, hyperparameters, geometry } = built;
  return { onnx, format: checkpoint.format, architecture, kind, hyperparameters, geometry };
}
