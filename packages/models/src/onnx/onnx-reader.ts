import { fail, pushInts, readFields, subRange, toInt, toText, type ProtoField, type ProtoRange } from './protobuf-reader.js';

/**
 * Reads what describes an ONNX model, not its weights: ModelProto's header fields, opsets and
 * metadata_props, and the graph's initializers (name, type, dims), inputs and outputs. Field
 * numbers are those of onnx/onnx.proto. Tensor payloads are skipped, never copied.
 */

/** TensorProto.DataType, by value, named as torch names its dtypes where it has them. */
const DATA_TYPES: readonly string[] = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool',
  'float16', 'float64', 'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16', 'float8e4m3fn',
  'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4', 'float4e2m1',
];

export function onnxDataTypeName(dataType: number): string {
  return DATA_TYPES[dataType] ?? `onnx-type-${dataType}`;
}

export interface OnnxInitializerInfo {
  readonly name: string;
  /** TensorProto.DataType value. */
  readonly dataType: number;
  readonly dtype: string;
  readonly dims: readonly number[];
  /** Stored outside the model file (data_location EXTERNAL). */
  readonly external: boolean;
}

export interface OnnxValueInfo {
  readonly name: string;
  /** Element type of a tensor value; absent for sequences, maps and untyped values. */
  readonly dtype?: string;
  /** Sizes, symbolic names, or null where a dimension is unknown; absent without a shape. */
  readonly dims?: readonly (number | string | null)[];
}

export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly modelVersion: number;
  readonly docString: string;
  readonly opsetImports: readonly { readonly domain: string; readonly version: number }[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly graphName: string;
  readonly nodeCount: number;
  /** Distinct operator types, in order of first use. */
  readonly opTypes: readonly string[];
  /** How many nodes of each operator type. */
  readonly opCounts: Readonly<Record<string, number>>;
  readonly initializers: readonly OnnxInitializerInfo[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

export function readOnnxModel(bytes: Uint8Array): OnnxModelInfo {
  const model: Mutable<OnnxModelInfo> = {
    irVersion: 0, producerName: '', producerVersion: '', domain: '', modelVersion: 0, docString: '',
    opsetImports: [], metadata: {}, graphName: '', nodeCount: 0, opTypes: [], opCounts: {}, initializers: [], inputs: [], outputs: [],
  };
  const metadata = new Map<string, string>();
  let graph: ProtoRange | undefined;
  readFields({ bytes, start: 0, end: bytes.length }, (f) => {
    switch (f.field) {
      case 1: model.irVersion = int(f, 'ir_version'); break;
      case 2: model.producerName = toText(f, bytes, 'producer_name'); break;
      case 3: model.producerVersion = toText(f, bytes, 'producer_version'); break;
      case 4: model.domain = toText(f, bytes, 'domain'); break;
      case 5: model.modelVersion = int(f, 'model_version'); break;
      case 6: model.docString = toText(f, bytes, 'doc_string'); break;
      case 7: graph = subRange(f, bytes, 'graph'); break;
      case 8: model.opsetImports.push(readOpset(subRange(f, bytes, 'opset_import'))); break;
      case 14: {
        const [key, value] = readStringPair(subRange(f, bytes, 'metadata_props'));
        metadata.set(key, value);
        break;
      }
    }
  });
  if (model.irVersion <= 0) fail('no ir_version: not an ONNX ModelProto');
  if (!graph) fail('ModelProto has no graph');
  model.metadata = Object.fromEntries(metadata);
  readGraph(graph, model);
  return model;
}

function readGraph(range: ProtoRange, model: Mutable<OnnxModelInfo>): void {
  const { bytes } = range;
  const opCounts = new Map<string, number>();
  readFields(range, (f) => {
    switch (f.field) {
      case 1:
        model.nodeCount++;
        readFields(subRange(f, bytes, 'node'), (n) => {
          if (n.field === 4) {
            const op = toText(n, bytes, 'op_type');
            opCounts.set(op, (opCounts.get(op) ?? 0) + 1);
          }
        });
        break;
      case 2: model.graphName = toText(f, bytes, 'graph name'); break;
      case 5: model.initializers.push(readTensorInfo(subRange(f, bytes, 'initializer'))); break;
      case 11: model.inputs.push(readValueInfo(subRange(f, bytes, 'input'))); break;
      case 12: model.outputs.push(readValueInfo(subRange(f, bytes, 'output'))); break;
    }
  });
  model.opTypes = [...opCounts.keys()];
  model.opCounts = Object.fromEntries(opCounts);
}

// TensorProto: dims 1, data_type 2, name 8, data_location 14 (1 = EXTERNAL).
function readTensorInfo(range: ProtoRange): OnnxInitializerInfo {
  const { bytes } = range;
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let external = false;
  readFields(range, (f) => {
    if (f.field === 1) pushInts(f, bytes, dims, 'tensor dims');
    else if (f.field === 2) dataType = int(f, 'data_type');
    else if (f.field === 8) name = toText(f, bytes, 'tensor name');
    else if (f.field === 14) external = int(f, 'data_location') === 1;
  });
  if (dims.some((d) => d < 0)) fail(`initializer "${name}" has negative dims [${dims.join(', ')}]`);
  return { name, dataType, dtype: onnxDataTypeName(dataType), dims, external };
}

// ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 ->
// TensorShapeProto.dim 1 -> dim_value 1 | dim_param 2.
function readValueInfo(range: ProtoRange): OnnxValueInfo {
  const { bytes } = range;
  let name = '';
  let tensorType: ProtoRange | undefined;
  readFields(range, (f) => {
    if (f.field === 1) name = toText(f, bytes, 'value name');
    else if (f.field === 2) {
      readFields(subRange(f, bytes, 'value type'), (t) => {
        if (t.field === 1) tensorType = subRange(t, bytes, 'tensor_type');
      });
    }
  });
  if (!tensorType) return { name };
  let dtype: string | undefined;
  let dims: (number | string | null)[] | undefined;
  readFields(tensorType, (t) => {
    if (t.field === 1) dtype = onnxDataTypeName(int(t, 'elem_type'));
    else if (t.field === 2) {
      dims = [];
      readFields(subRange(t, bytes, 'shape'), (d) => {
        if (d.field === 1) dims?.push(readDim(subRange(d, bytes, 'dim')));
      });
    }
  });
  return { name, ...(dtype === undefined ? {} : { dtype }), ...(dims === undefined ? {} : { dims }) };
}

function readDim(range: ProtoRange): number | string | null {
  let dim: number | string | null = null;
  readFields(range, (f) => {
    if (f.field === 1) dim = int(f, 'dim_value');
    else if (f.field === 2) dim = toText(f, range.bytes, 'dim_param');
  });
  return dim;
}

// OperatorSetIdProto: domain 1, version 2.
function readOpset(range: ProtoRange): { domain: string; version: number } {
  let domain = '';
  let version = 0;
  readFields(range, (f) => {
    if (f.field === 1) domain = toText(f, range.bytes, 'opset domain');
    else if (f.field === 2) version = int(f, 'opset version');
  });
  return { domain, version };
}

// StringStringEntryProto: key 1, value 2.
function readStringPair(range: ProtoRange): [string, string] {
  let key = '';
  let value = '';
  readFields(range, (f) => {
    if (f.field === 1) key = toText(f, range.bytes, 'metadata key');
    else if (f.field === 2) value = toText(f, range.bytes, 'metadata value');
  });
  return [key, value];
}

function int(f: ProtoField, what: string): number {
  if (f.wire !== 0) fail(`${what} has wire type ${f.wire}, expected a varint`);
  return toInt(f.value, what);
}
