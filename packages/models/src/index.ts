// Runtime-agnostic entry: checkpoint reading, ONNX writing, architectures, plugins.
// Backends live in the `@superres/models/node` (and later `/web`) entry points.
export * from './checkpoint/index.js';
export { OnnxGraphBuilder, OnnxDataType, attr, type OnnxModelOptions } from './onnx/onnx-graph.js';
export { CONVERTER_VERSION } from './onnx/version.js';
export {
  buildSrvggOnnx,
  detectSrvgg,
  srvggHyperparameters,
  srvggGeometry,
  SRVGG_ARCHITECTURE,
  type SrvggActivation,
  type SrvggHyperparameters,
  type SrvggOverrides,
  type SrvggOnnx,
} from './architectures/srvgg.js';
export { buildGraphFromStateDict, type BuiltGraph, type ArchitectureOverrides } from './architectures/detect.js';
export { detectModelFormat, type ModelFileFormat } from './plugins/detect-format.js';
export { pluginFromCheckpoint, pluginFromOnnx, type FilePlugin, type CheckpointPluginInfo } from './plugins/file-plugin.js';
export { probeOnnxGeometry } from './plugins/probe-onnx.js';
