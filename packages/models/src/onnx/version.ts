/**
 * Version of our checkpoint → ONNX converters. Bump it whenever any converter's output graph
 * changes, so ONNX files cached from an older converter are rebuilt rather than reused.
 */
export const CONVERTER_VERSION = '2';
