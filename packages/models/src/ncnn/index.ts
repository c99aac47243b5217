// ncnn models (.param + .bin) as ONNX graphs with their tiling geometry.
export { parseNcnnParam, NCNN_MAGIC, type NcnnParam, type NcnnLayer, type NcnnParamValue } from './param.js';
export { NcnnModelBin, NCNN_TAG_FLOAT16, NCNN_TAG_FLOAT32, NCNN_TAG_INT8, type NcnnStorage, type WeightRead } from './model-bin.js';
export { convertNcnn, NCNN_ARCHITECTURE, type NcnnConversion, type NcnnHyperparameters, type ConvertNcnnOptions } from './convert.js';
export { SUPPORTED_NCNN_LAYERS } from './layers/index.js';
export { pluginFromNcnn } from './plugin.js';
export { inspectNcnn, type NcnnInspection } from './inspect.js';
export { convertNcnnRequest, type NcnnConvertRequest, type NcnnConvertResult } from './convert-request.js';
