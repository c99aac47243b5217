// Runtime-agnostic entry: checkpoint reading, ONNX writing, architectures, plugins.
// Backends live in the `@superres/models/node` and `@superres/models/web` entry points.
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
export {
  architectures,
  buildGraphFromStateDict,
  detectArchitecture,
  registerArchitecture,
  type Architecture,
  type ArchitectureGeometry,
  type BuiltGraph,
  type ArchitectureOverrides,
  type DetectedArchitecture,
} from './architectures/detect.js';
export { createArchitectureRegistry, WRAPPER_PREFIXES, type ArchitectureRegistry, type CandidateReport } from './architectures/registry.js';
export { srvggArchitecture, rrdbArchitecture } from './architectures/builtin.js';
export { plksrArchitecture, realPlksrArchitecture, buildPlksrOnnx, detectPlksr, detectRealPlksr, plksrGeometry, PLKSR_ARCHITECTURE, REAL_PLKSR_ARCHITECTURE, type PlksrHyperparameters, type RealPlksrHyperparameters, type PlksrOverrides } from './architectures/plksr.js';
export { spanArchitecture, buildSpanOnnx, detectSpan, spanHyperparameters, spanGeometry, SPAN_ARCHITECTURE, type SpanHyperparameters, type SpanOverrides } from './architectures/span.js';
export { omnisrArchitecture, buildOmniSrOnnx, detectOmniSr, omniSrGeometry, omniSrMacsPerOutputPixel, OMNISR_ARCHITECTURE, OMNISR_MEASURED_TILE_PAD, type OmniSrHyperparameters, type OmniSrOverrides } from './architectures/omnisr.js';
export { swinirArchitecture, buildSwinirOnnx, detectSwinir, swinirGeometry, swinirMacsPerOutputPixel, swinirReceptiveRadius, SWINIR_ARCHITECTURE, type SwinirHyperparameters, type SwinirUpsampler, type SwinirResiConnection } from './architectures/swinir.js';
export { hatArchitecture, buildHatOnnx, detectHat, hatGeometry, hatMacsPerOutputPixel, hatReceptiveRadius, ocaIndex, HAT_ARCHITECTURE, HAT_CONV_SCALE, type HatHyperparameters } from './architectures/hat.js';
export {
  datArchitecture,
  buildDatOnnx,
  detectDat,
  datBlockShifts,
  datGeometry,
  datMacsPerOutputPixel,
  datPositionBias,
  datReceptiveRadius,
  datRelativeIndex,
  datRpeBiases,
  datShiftMask,
  DAT_ARCHITECTURE,
  DAT_MEASURED_TILE_PAD,
  type DatHyperparameters,
  type DatResiConnection,
  type DatUpsampler,
} from './architectures/dat.js';
export {
  buildRrdbOnnx,
  detectRrdb,
  rrdbHyperparameters,
  rrdbGeometry,
  type RrdbHyperparameters,
  type RrdbOverrides,
} from './architectures/rrdbnet.js';
export { detectModelFormat, type ModelFileFormat } from './plugins/detect-format.js';
export { pluginFromCheckpoint, pluginFromOnnx, type FilePlugin, type CheckpointPluginInfo } from './plugins/file-plugin.js';
export { probeOnnxGeometry } from './plugins/probe-onnx.js';
export {
  catalogModels,
  catalogOnnx,
  registerBuiltinModels,
  DEFAULT_MODEL_ID,
  interpolateStateDicts,
  buildDenoisedOnnx,
  checkDenoise,
  needsDenoisePartner,
  DENOISE_MODEL_ID,
  DENOISE_PARTNER_ID,
  faceCatalogModels,
  DEFAULT_FACE_MODELS,
  type CatalogModel,
  type CatalogArchitecture,
} from './catalog/index.js';
export { sniffCheckpointFormat } from './checkpoint/read-checkpoint.js';
export { readTorchLegacy, type TorchLegacyContents } from './checkpoint/torch-legacy.js';
export {
  readSafetensors,
  readSafetensorsHeader,
  SAFETENSORS_DTYPES,
  type SafetensorsContents,
  type SafetensorsTensorInfo,
} from './checkpoint/safetensors.js';
export {
  readOnnxModel,
  onnxDataTypeName,
  type OnnxModelInfo,
  type OnnxInitializerInfo,
  type OnnxValueInfo,
} from './onnx/onnx-reader.js';
export { inspectModel, type ModelInspection, type TensorSummary, type OnnxSummary } from './inspect.js';
export { createFaceModels, createFaceDetector, type FaceSessions, type DetectFaces } from './faces/face-models.js';
export { decodeRetinaFace, retinaFacePriors, type DetectedFace, type DecodeOptions } from './faces/retinaface-decode.js';
export { buildRetinaFaceOnnx, detectRetinaFace, RETINAFACE_ARCHITECTURE, type RetinaFaceHyperparameters } from './faces/retinaface-graph.js';
export { buildGfpganOnnx, detectGfpgan, GFPGAN_ARCHITECTURE, type GfpganHyperparameters } from './faces/gfpgan-graph.js';
export { buildParseNetOnnx, detectParseNet, PARSENET_ARCHITECTURE, type ParseNetHyperparameters } from './faces/parsenet-graph.js';
export { createFaceModelsFromWeights, type FaceWeights, type OpenedFaceModels } from './faces/face-models-from-weights.js';
export * from './ncnn/index.js';
