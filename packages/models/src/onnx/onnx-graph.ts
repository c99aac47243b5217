/**
 * Builds an ONNX ModelProto (IR version 8, default-domain opset 17 unless told otherwise) from
 * value infos, initializers and nodes. Field numbers are those of onnx/onnx.proto.
 */
import { ProtoWriter, float32LittleEndianBytes, int64LittleEndianBytes } from './protobuf.js';

/** TensorProto.DataType values for the element types we write. */
export const OnnxDataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;
export type OnnxElemType = keyof typeof OnnxDataType;

/** A dimension: a fixed size, or a symbolic name such as 'N', 'H', 'W'. */
export type OnnxDim = number | string;

export type OnnxAttribute =
  | { readonly type: 'int'; readonly value: number | bigint }
  | { readonly type: 'ints'; readonly value: readonly (number | bigint)[] }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string };

/** Typed attribute constructors: a plain JS number cannot tell int from float. */
export const attr = {
  int: (value: number | bigint): OnnxAttribute => ({ type: 'int', value }),
  ints: (value: readonly (number | bigint)[]): OnnxAttribute => ({ type: 'ints', value }),
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  floats: (value: readonly number[]): OnnxAttribute => ({ type: 'floats', value }),
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
};

export interface OnnxModelOptions {
  /** Default-domain opset version; 17 unless told. */
  opset?: number;
  /** ModelProto.ir_version; 8 unless told. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  /** ModelProto.metadata_props, in insertion order. */
  metadata?: Readonly<Record<string, string>>;
}

interface ValueInfo {
  name: string;
  elemType: OnnxElemType;
  dims: readonly OnnxDim[];
}

interface Initializer {
  name: string;
  dims: readonly number[];
  elemType: 'float32' | 'int64';
  bytes: Uint8Array;
}

interface Node {
  opType: string;
  name: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, OnnxAttribute>>;
}

// AttributeProto.AttributeType values.
const AttributeType = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

export class OnnxGraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly nodes: Node[] = [];
  /** Every value name defined so far (graph inputs, initializers, node outputs). */
  private readonly defined = new Set<string>();

  constructor(readonly name: string) {}

  input(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): this {
    this.define(name, 'graph input');
    this.inputs.push({ name, elemType, dims: checkDims(name, dims) });
    return this;
  }

  output(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): this {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`Duplicate graph output "${name}"`);
    this.outputs.push({ name, elemType, dims: checkDims(name, dims) });
    return this;
  }

  /**
   * A constant tensor. Float32Array → FLOAT, BigInt64Array → INT64; stored as raw_data. The
   * array is referenced until toBytes(): do not change it in between.
   */
  initializer(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): this {
    this.define(name, 'initializer');
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new Error(`Initializer "${name}" has invalid dims [${dims.join(', ')}]`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(`Initializer "${name}" has ${data.length} values; dims [${dims.join(', ')}] need ${count}`);
    }
    const float = data instanceof Float32Array;
    this.initializers.push({
      name,
      dims: [...dims],
      elemType: float ? 'float32' : 'int64',
      bytes: float ? float32LittleEndianBytes(data) : int64LittleEndianBytes(data),
    });
    return this;
  }

  /**
   * An operator node. Inputs must already be defined (use '' for an omitted optional input);
   * `options.name` defaults to `<opType>_<index>`.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, OnnxAttribute>> = {},
    options: { name?: string; domain?: string } = {},
  ): this {
    const name = options.name ?? `${opType}_${this.nodes.length}`;
    for (const input of inputs) {
      if (input !== '' && !this.defined.has(input)) {
        throw new Error(`Node "${name}" (${opType}) reads "${input}", which is not defined yet`);
      }
    }
    for (const output of outputs) this.define(output, `output of node "${name}"`);
    this.nodes.push({ opType, name, domain: options.domain ?? '', inputs: [...inputs], outputs: [...outputs], attributes });
    return this;
  }

  /** Encodes the ModelProto. */
  toBytes(options: OnnxModelOptions = {}): Uint8Array {
    for (const output of this.outputs) {
      if (!this.defined.has(output.name)) throw new Error(`Graph output "${output.name}" is never produced`);
    }
    const w = new ProtoWriter();
    w.int64Field(1, options.irVersion ?? 8); // ir_version
    if (options.producerName !== undefined) w.stringField(2, options.producerName);
    if (options.producerVersion !== undefined) w.stringField(3, options.producerVersion);
    if (options.docString !== undefined) w.stringField(6, options.docString);
    w.messageField(7, (g) => this.writeGraph(g)); // graph
    w.messageField(8, (o) => o.stringField(1, '').int64Field(2, options.opset ?? 17)); // opset_import
    for (const [key, value] of Object.entries(options.metadata ?? {})) {
      w.messageField(14, (e) => e.stringField(1, key).stringField(2, value)); // metadata_props
    }
    return w.finish();
  }

  private writeGraph(g: ProtoWriter): void {
    for (const node of this.nodes) g.messageField(1, (n) => writeNode(n, node));
    g.stringField(2, this.name);
    for (const init of this.initializers) g.messageField(5, (t) => writeInitializer(t, init));
    for (const input of this.inputs) g.messageField(11, (v) => writeValueInfo(v, input));
    for (const output of this.outputs) g.messageField(12, (v) => writeValueInfo(v, output));
  }

  private define(name: string, what: string): void {
    if (name === '') throw new Error(`A ${what} needs a non-empty name`);
    if (this.defined.has(name)) throw new Error(`Value "${name}" (${what}) is already defined`);
    this.defined.add(name);
  }
}

function checkDims(name: string, dims: readonly OnnxDim[]): readonly OnnxDim[] {
  for (const d of dims) {
    const ok = typeof d === 'string' ? d.length > 0 : Number.isSafeInteger(d) && d >= 0;
    if (!ok) throw new Error(`Value "${name}" has an invalid dimension ${JSON.stringify(d)}`);
  }
  return [...dims];
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
function writeNode(w: ProtoWriter, node: Node): void {
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes)) {
    w.messageField(5, (a) => writeAttribute(a, name, attribute));
  }
  if (node.domain !== '') w.stringField(7, node.domain);
}

// AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20. The repeated fields are
// declared unpacked in onnx.proto (proto2), so they are written one tag per element.
function writeAttribute(w: ProtoWriter, name: string, attribute: OnnxAttribute): void {
  w.stringField(1, name);
  switch (attribute.type) {
    case 'float':
      w.floatField(2, attribute.value);
      break;
    case 'int':
      w.int64Field(3, attribute.value);
      break;
    case 'string':
      w.stringField(4, attribute.value);
      break;
    case 'floats':
      for (const v of attribute.value) w.floatField(7, v);
      break;
    case 'ints':
      for (const v of attribute.value) w.int64Field(8, v);
      break;
  }
  w.int64Field(20, AttributeType[attribute.type]);
}

// TensorProto: dims 1 (unpacked), data_type 2, name 8, raw_data 9 (little-endian).
function writeInitializer(w: ProtoWriter, init: Initializer): void {
  for (const d of init.dims) w.int64Field(1, d);
  w.int64Field(2, OnnxDataType[init.elemType]);
  w.stringField(8, init.name);
  w.bytesField(9, init.bytes);
}

// ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 →
// TensorShapeProto.dim 1 → dim_value 1 | dim_param 2.
function writeValueInfo(w: ProtoWriter, info: ValueInfo): void {
  w.stringField(1, info.name);
  w.messageField(2, (type) =>
    type.messageField(1, (tensor) => {
      tensor.int64Field(1, OnnxDataType[info.elemType]);
      tensor.messageField(2, (shape) => {
        for (const d of info.dims) {
          shape.messageField(1, (dim) => (typeof d === 'string' ? dim.stringField(2, d) : dim.int64Field(1, d)));
        }
      });
    }),
  );
}
