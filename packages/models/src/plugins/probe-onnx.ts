import { BackendError, type InferenceSession, type ModelGeometry } from '@superres/core';

const PROBE_SIZE = 16;

/**
 * Learns an image-to-image ONNX model's scale by running it on a small blank image. Alignment and
 * receptive radius cannot be read from a foreign graph: alignment 1 unless told, radius unknown
 * (0: the caller's tile pad decides).
 */
export async function probeOnnxGeometry(
  session: InferenceSession,
  known: Partial<ModelGeometry> = {},
): Promise<ModelGeometry> {
  const alignment = known.alignment ?? 1;
  const size = Math.ceil(PROBE_SIZE / alignment) * alignment;
  const output = await session.run({ data: new Float32Array(3 * size * size), dims: [1, 3, size, size] });
  const [n, c, h, w] = output.dims;
  if (output.dims.length !== 4 || n !== 1 || c !== 3 || h === undefined || w === undefined || h !== w || h % size !== 0) {
    throw new BackendError(
      `ONNX model is not a 3-channel image upscaler: input [1,3,${size},${size}] gave output [${output.dims.join(',')}]`,
    );
  }
  return { scale: known.scale ?? h / size, alignment, receptiveRadius: known.receptiveRadius ?? 0 };
}
