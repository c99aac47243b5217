/** A model file (checkpoint or ONNX) to a session on onnxruntime-web: all on this machine. */
import { fromSession, type InferenceBackend, type LoadedModel } from '@superres/core';
import { detectModelFormat, pluginFromCheckpoint, pluginFromNcnn, probeOnnxGeometry } from '@superres/models';

export interface ConvertedModel {
  onnx: Uint8Array;
  /** Geometry known from the checkpoint's tensors; ONNX files are probed once a session exists. */
  plugin: ReturnType<typeof pluginFromCheckpoint> | ReturnType<typeof pluginFromNcnn> | undefined;
  description: string;
}

/** Reads a `.pth`, `.safetensors` or `.onnx` file, or an ncnn pair (`bytes` the .param, `ncnnBin` the .bin); all but ONNX become ONNX graphs here. */
export async function convertModel(name: string, bytes: Uint8Array, ncnnBin?: Uint8Array): Promise<ConvertedModel> {
  if (ncnnBin) {
    const plugin = pluginFromNcnn(name, new TextDecoder().decode(bytes), ncnnBin);
    return { onnx: await plugin.toOnnx(ncnnBin), plugin, description: plugin.description ?? name };
  }
  const format = detectModelFormat(bytes);
  if (format === 'onnx') return { onnx: bytes, plugin: undefined, description: `${name} (ONNX)` };
  const plugin = pluginFromCheckpoint(name, bytes);
  if (plugin.kind !== 'upscaler') throw new TypeError(`${name} is a ${plugin.kind} model, not an upscaler`);
  return { onnx: await plugin.toOnnx(bytes), plugin, description: plugin.description ?? name };
}

export async function openModel(name: string, converted: ConvertedModel, backend: InferenceBackend, device: 'auto' | 'wasm' | 'webgpu'): Promise<LoadedModel> {
  const session = await backend.createSession(converted.onnx, { device: device === 'wasm' ? 'cpu' : device });
  try {
    const geometry = converted.plugin ?? (await probeOnnxGeometry(session));
    return fromSession({ ...geometry, id: name }, session);
  } catch (error) {
    await session.release();
    throw error;
  }
}
