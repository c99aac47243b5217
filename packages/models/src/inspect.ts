import { BadCheckpointError, isSuperresError, type ModelKind } from '@superres/core';
import { detectArchitecture, type ArchitectureOverrides } from './architectures/detect.js';
import { readCheckpoint, sniffCheckpointFormat } from './checkpoint/read-checkpoint.js';
import type { CheckpointFormat } from './checkpoint/types.js';
import { readOnnxModel, type OnnxModelInfo } from './onnx/onnx-reader.js';

/**
 * What a model file holds, for `superres models inspect`: its format, the architecture and
 * geometry we recognise (when we do), and every tensor's name, dtype and shape. Nothing is run
 * and no graph is built.
 */

export interface TensorSummary {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface ModelInspection {
  readonly format: CheckpointFormat | 'onnx';
  readonly architecture?: string;
  /** What a recognised network does; only upscalers have a scale, alignment and receptive radius. */
  readonly kind?: ModelKind;
  readonly hyperparameters?: Record<string, unknown>;
  readonly scale?: number;
  readonly alignment?: number;
  readonly receptiveRadius?: number;
  /** Multiply-accumulates per output pixel (upscalers whose architecture says). */
  readonly macsPerOutputPixel?: number;
  /** A training wrapper's prefix removed from the tensor names before detection (`module.`, ...). */
  readonly strippedPrefix?: string;
  /** Elements over all tensors (a state dict's buffers, e.g. BatchNorm statistics, included). */
  readonly parameterCount: number;
  /** State-dict tensors in file order; for ONNX, the graph's initializers. */
  readonly tensors: readonly TensorSummary[];
  /** Where the state dict was nested in a checkpoint (`params_ema`, ...). */
  readonly nestedKey?: string;
  /** Why no architecture was recognised; the tensors are listed all the same. */
  readonly error?: string;
  /** ONNX only: the model's header, metadata and graph signature. */
  readonly onnx?: OnnxSummary;
}

export interface OnnxSummary {
  readonly irVersion: number;
  readonly producer: string;
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputs: OnnxModelInfo['inputs'];
  readonly outputs: OnnxModelInfo['outputs'];
  readonly nodeCount: number;
  readonly opTypes: readonly string[];
}

/**
 * Inspects a `.pth` (zip or legacy), `.safetensors` or `.onnx` file. Throws BadCheckpointError /
 * UnsafeCheckpointError when the file cannot be read; an unrecognised architecture is not an
 * error here: it is reported in `error`.
 */
export function inspectModel(bytes: Uint8Array, overrides: ArchitectureOverrides = {}): ModelInspection {
  if (sniffCheckpointFormat(bytes) !== undefined) return inspectCheckpoint(bytes, overrides);
  // ModelProto opens with field 1 (ir_version, a varint): tag byte 0x08.
  if (bytes[0] === 0x08) return inspectOnnx(bytes);
  throw new BadCheckpointError(
    bytes.length === 0
      ? 'Model file is empty (0 bytes)'
      : 'Not a model file: expected a PyTorch checkpoint (.pth), a safetensors file or an ONNX model',
    { details: { format: 'unknown' } },
  );
}

function inspectCheckpoint(bytes: Uint8Array, overrides: ArchitectureOverrides): ModelInspection {
  const { format, nestedKey, stateDict } = readCheckpoint(bytes);
  const tensors: TensorSummary[] = [];
  for (const [name, t] of stateDict) tensors.push({ name, dtype: t.dtype, shape: [...t.shape] });
  const base = { format, parameterCount: countElements(tensors), tensors, ...(nestedKey === undefined ? {} : { nestedKey }) };
  try {
    const { architecture, kind, hyperparameters, geometry, macsPerOutputPixel, strippedPrefix } = detectArchitecture(stateDict, overrides);
    return {
      ...base,
      architecture,
      kind,
      hyperparameters,
      ...(kind === 'upscaler' ? { ...geometry, ...(macsPerOutputPixel === undefined ? {} : { macsPerOutputPixel }) } : {}),
      ...(strippedPrefix === undefined ? {} : { strippedPrefix }),
    };
  } catch (error) {
    // Unknown layouts and broken shapes are findings, not failures: keep the tensor list. A bad
    // override is the caller's mistake and is thrown.
    if (isSuperresError(error) && error.code !== 'E_INVALID_OPTION') return { ...base, error: error.message };
    throw error;
  }
}

function inspectOnnx(bytes: Uint8Array): ModelInspection {
  const model = readOnnxModel(bytes);
  const tensors = model.initializers.map((t) => ({ name: t.name, dtype: t.dtype, shape: [...t.dims] }));
  const onnx: OnnxSummary = {
    irVersion: model.irVersion,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets: model.opsetImports,
    metadata: model.metadata,
    inputs: model.inputs,
    outputs: model.outputs,
    nodeCount: model.nodeCount,
    opTypes: model.opTypes,
  };
  return { format: 'onnx', ...fromSuperresMetadata(model.metadata), parameterCount: countElements(tensors), tensors, onnx };
}

/** Graphs superres converted carry their architecture and geometry in metadata_props. */
function fromSuperresMetadata(metadata: Readonly<Record<string, string>>): Partial<ModelInspection> {
  const out: { -readonly [K in keyof ModelInspection]?: ModelInspection[K] } = {};
  if (metadata.architecture) out.architecture = metadata.architecture;
  if (metadata.hyperparameters) {
    try {
      const parsed: unknown = JSON.parse(metadata.hyperparameters);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) out.hyperparameters = parsed as Record<string, unknown>;
    } catch {
      // Not ours after all: leave it in onnx.metadata only.
    }
  }
  const int = (text: string | undefined): number | undefined => {
    const n = Number(text);
    return text !== undefined && text !== '' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const scale = int(metadata.scale);
  const alignment = int(metadata.alignment);
  const receptiveRadius = int(metadata.receptive_radius);
  if (scale !== undefined) out.scale = scale;
  if (alignment !== undefined) out.alignment = alignment;
  if (receptiveRadius !== undefined) out.receptiveRadius = receptiveRadius;
  return out;
}

function countElements(tensors: readonly TensorSummary[]): number {
  return tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}
