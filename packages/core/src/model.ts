import type { InferenceBackend, InferenceSession, RunOptions, SessionOptions } from './backend.js';
import type { Tensor } from './image.js';
import type { ModelGeometry, ModelPlugin, OnnxBuildOptions } from './plugin.js';

/** A plugin's geometry joined to a live inference session: what `upscale()` runs. */
export interface LoadedModel extends ModelGeometry {
  readonly id: string;
  /** How many runs the backend can carry out at once (its worker count); default 1. */
  readonly parallelism?: number;
  run(input: Tensor, options?: RunOptions): Promise<Tensor>;
  release(): Promise<void>;
}

export interface LoadModelOptions extends SessionOptions, OnnxBuildOptions {}

/** Builds the plugin's ONNX graph from its weights and opens a session on the backend. */
export async function loadModel(
  plugin: ModelPlugin,
  weights: Uint8Array,
  backend: InferenceBackend,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  const onnx = await plugin.toOnnx(weights, { signal: options.signal });
  const session = await backend.createSession(onnx, options);
  return fromSession(plugin, session);
}

export function fromSession(geometry: ModelGeometry & { id: string }, session: InferenceSession): LoadedModel {
  return {
    id: geometry.id,
    scale: geometry.scale,
    alignment: geometry.alignment,
    receptiveRadius: geometry.receptiveRadius,
    ...(geometry.workingBytesPerPixel !== undefined ? { workingBytesPerPixel: geometry.workingBytesPerPixel } : {}),
    ...(geometry.tileMultiple !== undefined ? { tileMultiple: geometry.tileMultiple } : {}),
    ...(session.parallelism !== undefined ? { parallelism: session.parallelism } : {}),
    run: (input, options) => session.run(input, options),
    release: () => session.release(),
  };
}
