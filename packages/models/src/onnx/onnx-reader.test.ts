import { readFileSync } from 'node:fs';
import { BadCheckpointError } from '@superres/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../../test-support/fixtures.js';
import { OnnxGraphBuilder } from './onnx-graph.js';
import { onnxDataTypeName, readOnnxModel } from './onnx-reader.js';
import { ProtoWriter } from './protobuf.js';

function tiny(): Uint8Array {
  return new OnnxGraphBuilder('tiny')
    .input('x', 'float32', ['N', 3, 'H', 'W'])
    .initializer('w', [2, 3, 1, 1], new Float32Array(6).fill(0.5))
    .initializer('shape', [4], new BigInt64Array([1n, 2n, -1n, 0n]))
    .node('Conv', ['x', 'w'], ['y'])
    .node('Reshape', ['y', 'shape'], ['z'])
    .node('Conv', ['z', 'w'], ['out'])
    .output('out', 'float32', ['N', 2, 'H', 'W'])
    .toBytes({ producerName: 'superres', producerVersion: '1', opset: 17, metadata: { architecture: 'Tiny', scale: '2' } });
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('readOnnxModel', () => {
  it('reads back what OnnxGraphBuilder wrote', () => {
    const model = readOnnxModel(tiny());
    expect(model).toMatchObject({
      irVersion: 8,
      producerName: 'superres',
      producerVersion: '1',
      opsetImports: [{ domain: '', version: 17 }],
      metadata: { architecture: 'Tiny', scale: '2' },
      graphName: 'tiny',
      nodeCount: 3,
      opTypes: ['Conv', 'Reshape'],
    });
    expect(model.initializers).toEqual([
      { name: 'w', dataType: 1, dtype: 'float32', dims: [2, 3, 1, 1], external: false },
      { name: 'shape', dataType: 7, dtype: 'int64', dims: [4], external: false },
    ]);
    expect(model.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: ['N', 3, 'H', 'W'] }]);
    expect(model.outputs).toEqual([{ name: 'out', dtype: 'float32', dims: ['N', 2, 'H', 'W'] }]);
  });

  it('reads packed dims, unknown dimensions and external initializers', () => {
    const w = new ProtoWriter();
    w.int64Field(1, 7);
    w.messageField(7, (g) => {
      g.messageField(5, (t) => {
        t.bytesField(1, Uint8Array.of(3, 0x80, 0x01)); // packed dims [3, 128]
        t.int64Field(2, 10).stringField(8, 'half').int64Field(14, 1);
      });
      g.messageField(11, (v) => v.stringField(1, 'in').messageField(2, (type) => type.messageField(1, (tt) => tt.int64Field(1, 1).messageField(2, (s) => s.messageField(1, () => undefined)))));
      g.messageField(12, (v) => v.stringField(1, 'seq'));
    });
    const model = readOnnxModel(w.finish());
    expect(model.initializers).toEqual([{ name: 'half', dataType: 10, dtype: 'float16', dims: [3, 128], external: true }]);
    expect(model.inputs).toEqual([{ name: 'in', dtype: 'float32', dims: [null] }]);
    expect(model.outputs).toEqual([{ name: 'seq' }]);
  });

  it('names data types', () => {
    expect([1, 7, 10, 11, 16].map(onnxDataTypeName)).toEqual(['float32', 'int64', 'float16', 'float64', 'bfloat16']);
    expect(onnxDataTypeName(99)).toBe('onnx-type-99');
  });

  it('refuses truncated and malformed models with BadCheckpointError', () => {
    const bytes = tiny();
    // Protobuf has no terminator: a cut between top-level fields is a valid, shorter model. The
    // last 64 bytes hold only opset_import and metadata_props, which follow the graph.
    for (let cut = 1; cut < bytes.length - 64; cut += 3) {
      const error = thrown(() => readOnnxModel(bytes.subarray(0, cut)));
      expect(error, `cut at ${cut}`).toBeInstanceOf(BadCheckpointError);
    }
    expect(() => readOnnxModel(new Uint8Array(0))).toThrow(/ir_version/);
    expect(() => readOnnxModel(Uint8Array.of(0x08, 0x07))).toThrow(/no graph/);
    expect(() => readOnnxModel(Uint8Array.of(0x08, 0x07, 0x3a, 0x7f, 0x00))).toThrow(/declares 127 bytes/);
    expect(() => readOnnxModel(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))).toThrow(/varint/);
    expect(() => readOnnxModel(Uint8Array.of(0x08, 0x07, 0x0b))).toThrow(/wire type 3/);
    expect(() => readOnnxModel(Uint8Array.of(0x0a, 0x00))).toThrow(/ir_version has wire type 2/);
  });
});

const yunet = needsFixture('YuNet face_detection_yunet_2023mar.onnx', 'weights', 'face_detection_yunet_2023mar.onnx');

describe.skipIf(yunet.missing)(yunet.title, () => {
  // Facts from python3-onnx 1.12: m = onnx.load(path); m.ir_version, m.producer_name,
  // m.opset_import, len(m.graph.node), [(t.name, t.data_type, list(t.dims)) for t in
  // m.graph.initializer], the graph's inputs and outputs, and op types in order of first use.
  let model: ReturnType<typeof readOnnxModel>;
  beforeAll(() => {
    model = readOnnxModel(new Uint8Array(readFileSync(fixture('weights', 'face_detection_yunet_2023mar.onnx'))));
  });

  it('reads the header and graph as onnx does', () => {
    expect(model).toMatchObject({
      irVersion: 6,
      producerName: 'pytorch',
      producerVersion: '1.7',
      opsetImports: [{ domain: '', version: 11 }],
      metadata: {},
      graphName: 'torch-jit-export',
      nodeCount: 106,
      opTypes: ['Conv', 'Relu', 'MaxPool', 'Resize', 'Add', 'Transpose', 'Reshape', 'Sigmoid'],
    });
    expect(model.inputs).toEqual([{ name: 'input', dtype: 'float32', dims: [1, 3, 640, 640] }]);
    expect(model.outputs).toHaveLength(12);
    expect(model.outputs[0]).toEqual({ name: 'cls_8', dtype: 'float32', dims: [1, 6400, 1] });
    expect(model.outputs[11]).toEqual({ name: 'kps_32', dtype: 'float32', dims: [1, 400, 10] });
  });

  it('lists the 112 initializers', () => {
    expect(model.initializers).toHaveLength(112);
    expect(model.initializers.filter((t) => t.dtype === 'float32')).toHaveLength(109);
    expect(model.initializers.filter((t) => t.dtype === 'int64')).toHaveLength(3);
    expect(model.initializers[0]).toEqual({ name: '420', dataType: 1, dtype: 'float32', dims: [16, 3, 3, 3], external: false });
    expect(model.initializers[2]).toMatchObject({ name: '423', dims: [16, 1, 3, 3] });
    expect(model.initializers[111]).toMatchObject({ name: '395', dtype: 'int64', dims: [3] });
    // sum(int(numpy.prod(t.dims)) for t in m.graph.initializer)
    expect(model.initializers.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0)).toBe(53121);
  });
});
