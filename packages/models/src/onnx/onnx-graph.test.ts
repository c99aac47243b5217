import { describe, expect, it } from 'vitest';
import { OnnxGraphBuilder, attr } from './onnx-graph.js';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from './test-support/onnx-checker.js';


// Loads with the reference protobuf parser, runs the full checker, and reports what it decoded.
const SCRIPT = `
from onnx import helper, numpy_helper
g = m.graph
print(json.dumps({
  "ir": m.ir_version, "opset": [[o.domain, o.version] for o in m.opset_import],
  "producer": [m.producer_name, m.producer_version], "doc": m.doc_string,
  "meta": {p.key: p.value for p in m.metadata_props}, "graph": g.name,
  "inputs": [[v.name, v.type.tensor_type.elem_type, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]] for v in g.input],
  "outputs": [[v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]] for v in g.output],
  "inits": {t.name: [list(t.dims), t.data_type, numpy_helper.to_array(t).flatten().tolist()] for t in g.initializer},
  "nodes": [[n.op_type, list(n.input), list(n.output), {a.name: helper.get_attribute_value(a) if a.type != 3 else a.s.decode() for a in n.attribute}] for n in g.node],
}))
`;

interface Summary {
  ir: number;
  opset: [string, number][];
  producer: [string, string];
  doc: string;
  meta: Record<string, string>;
  graph: string;
  inputs: [string, number, (string | number)[]][];
  outputs: [string, (string | number)[]][];
  inits: Record<string, [number[], number, number[]]>;
  nodes: [string, string[], string[], Record<string, unknown>][];
}

function check(bytes: Uint8Array): { status: number | null; stderr: string; summary: Summary } {
  const result = runOnnxChecker(bytes, SCRIPT);
  return {
    status: result.status,
    stderr: result.stderr,
    summary: (result.status === 0 ? JSON.parse(result.stdout) : undefined) as Summary,
  };
}

function smallGraph(): OnnxGraphBuilder {
  return new OnnxGraphBuilder('small')
    .input('x', 'float32', ['N', 2, 'H', 'W'])
    .initializer('w', [3, 2, 1, 1], new Float32Array([1, 2, 3, 4, 5, 6]))
    .initializer('shape', [2], new BigInt64Array([-1n, 3n]))
    .initializer('axes', [1], new BigInt64Array([0n]))
    .node('Conv', ['x', 'w'], ['y'], { kernel_shape: attr.ints([1, 1]), pads: attr.ints([0, 0, 0, 0]) })
    .node('LeakyRelu', ['y'], ['z'], { alpha: attr.float(0.25) })
    .node('Transpose', ['z'], ['t'], { perm: attr.ints([0, 2, 3, 1]) })
    .node('Reshape', ['t', 'shape'], ['r'])
    .node('ReduceSum', ['r', 'axes'], ['sum'], { keepdims: attr.int(0) })
    .output('sum', 'float32', [3]);
}

describe.skipIf(!hasOnnxChecker)(`OnnxGraphBuilder output, checked by python onnx${hasOnnxChecker ? '' : ` (skipped: ${noCheckerReason})`}`, () => {
  it('encodes a valid model with float and int64 initializers, attributes and metadata', () => {
    const bytes = smallGraph().toBytes({
      producerName: 'superres-test',
      producerVersion: '9',
      docString: 'a small graph',
      metadata: { architecture: 'Test', hyperparameters: '{"a":1}' },
    });
    const { status, stderr, summary } = check(bytes);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(summary.ir).toBe(8);
    expect(summary.opset).toEqual([['', 17]]);
    expect(summary.producer).toEqual(['superres-test', '9']);
    expect(summary.doc).toBe('a small graph');
    expect(summary.meta).toEqual({ architecture: 'Test', hyperparameters: '{"a":1}' });
    expect(summary.graph).toBe('small');
    expect(summary.inputs).toEqual([['x', 1, ['N', 2, 'H', 'W']]]);
    expect(summary.outputs).toEqual([['sum', [3]]]);
    expect(summary.inits).toEqual({
      w: [[3, 2, 1, 1], 1, [1, 2, 3, 4, 5, 6]],
      shape: [[2], 7, [-1, 3]],
      axes: [[1], 7, [0]],
    });
    expect(summary.nodes[0]).toEqual(['Conv', ['x', 'w'], ['y'], { kernel_shape: [1, 1], pads: [0, 0, 0, 0] }]);
    expect(summary.nodes[1]).toEqual(['LeakyRelu', ['y'], ['z'], { alpha: 0.25 }]);
    expect(summary.nodes[4]).toEqual(['ReduceSum', ['r', 'axes'], ['sum'], { keepdims: 0 }]);
  });

  it('writes string attributes, optional inputs, scalar initializers and large negative ints', () => {
    const g = new OnnxGraphBuilder('resize')
      .input('x', 'float32', [1, 1, 'H', 'W'])
      .initializer('scales', [4], new Float32Array([1, 1, 2, 2]))
      .initializer('big', [], new BigInt64Array([-(2n ** 62n)]))
      .node('Resize', ['x', '', 'scales'], ['y'], {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      })
      .node('Cast', ['big'], ['bigf'], { to: attr.int(1) })
      .node('Add', ['y', 'bigf'], ['out'])
      .output('out', 'float32', [1, 1, 'H2', 'W2']);
    const { status, stderr, summary } = check(g.toBytes({ opset: 17 }));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(summary.inits.big).toEqual([[], 7, [-(2 ** 62)]]);
    expect(summary.nodes[0]).toEqual([
      'Resize',
      ['x', '', 'scales'],
      ['y'],
      { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    ]);
    expect(summary.meta).toEqual({});
  });

  it('is rejected by the checker when an operator is misused (the check is real)', () => {
    const g = new OnnxGraphBuilder('bad')
      .input('x', 'float32', [1, 2])
      .node('Relu', ['x'], ['y'], { alpha: attr.float(1) })
      .output('y', 'float32', [1, 2]);
    const { status, stderr } = check(g.toBytes());
    expect(status).not.toBe(0);
    expect(stderr).toMatch(/alpha/);
  });
});

describe('OnnxGraphBuilder validation', () => {
  it('rejects undefined inputs, duplicate names, wrong data lengths and unproduced outputs', () => {
    expect(() => new OnnxGraphBuilder('g').node('Relu', ['nope'], ['y'])).toThrow(/"nope".*not defined/);
    expect(() => new OnnxGraphBuilder('g').input('x', 'float32', [1]).input('x', 'float32', [1])).toThrow(/already defined/);
    expect(() => new OnnxGraphBuilder('g').initializer('w', [2, 2], new Float32Array(3))).toThrow(/3 values.*need 4/);
    expect(() => new OnnxGraphBuilder('g').input('x', 'float32', [-1])).toThrow(/invalid dimension/);
    expect(() => new OnnxGraphBuilder('g').input('x', 'float32', ['N']).output('y', 'float32', ['N']).toBytes()).toThrow(
      /"y" is never produced/,
    );
  });

  it('names nodes by op type and index unless told', () => {
    const bytes = new OnnxGraphBuilder('g')
      .input('x', 'float32', [1])
      .node('Relu', ['x'], ['y'])
      .node('Relu', ['y'], ['z'], {}, { name: 'second' })
      .output('z', 'float32', [1])
      .toBytes();
    const text = new TextDecoder().decode(bytes);
    expect(text).toContain('Relu_0');
    expect(text).toContain('second');
  });
});
