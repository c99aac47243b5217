// Converted graphs pass the reference ONNX checker (full check: shapes and types inferred).
import { describe, expect, it } from 'vitest';
import { hasOnnxChecker, noCheckerReason, runOnnxChecker } from '../onnx/test-support/onnx-checker.js';
import { convertNcnn } from './convert.js';
import { BinWriter, paramText, randomArray, runOnnx, tinySrvggNcnn } from './test-support/tiny-ncnn.js';

describe.skipIf(!hasOnnxChecker)(`converted ncnn graphs pass onnx.checker${hasOnnxChecker ? '' : ` (skipped: ${noCheckerReason})`}`, () => {
  it('a tiny SRVGG-like model', () => {
    const { param, bin } = tinySrvggNcnn(4);
    const result = runOnnxChecker(convertNcnn(param, bin).onnx, 'print(sorted({n.op_type for n in m.graph.node}))');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe("['Add', 'Conv', 'DepthToSpace', 'Identity', 'PRelu', 'Resize']");
  });

  it('a graph of many layer kinds (and ONNX Runtime runs it)', async () => {
    const lines = [
      'Input in 0 1 data 2=3',
      'MemoryData mean 0 1 mean 0=3',
      'BinaryOp sub 2 1 data mean x 0=1',
      'Split s 1 3 x a b c',
      'ConvolutionDepthWise dw 1 1 a d 0=3 1=3 4=-233 15=-233 14=-233 16=-233 6=27 7=3 9=3 -23310=2,-1.0,1.0',
      'Padding pad 1 1 b p 0=1 1=1 2=1 3=1 4=1',
      'Convolution conv 1 1 p e 0=3 1=3 5=1 6=81 9=6 -23310=2,0.2,0.5',
      'Eltwise sum 2 1 d e f 0=1 -23301=2,0.5,0.5',
      'Clip clip 1 1 f g 0=-1.0 1=1.0',
      'Concat cat 2 1 g c h 0=0',
      'Split s2 1 2 h h1 h2',
      'Slice cut 1 2 h1 i j -23300=2,3,-233',
      'Softmax soft 1 1 j k 0=0 1=1',
      'Crop crop 1 1 h2 l -23309=1,3 -23310=1,-233 -23311=1,0',
      'BinaryOp mul 2 1 i k m0 0=2',
      'BinaryOp add 2 1 m0 l m 0=0',
      'Interp up 1 1 m output 0=3 1=2.0 2=2.0',
    ];
    const bin = new BinWriter().raw([0.5, 0.4, 0.3]).float32(randomArray(27, 1)).float16(randomArray(81, 2)).raw(randomArray(3, 3)).bytes();
    const converted = convertNcnn(paramText(lines), bin);
    expect(converted.geometry).toMatchObject({ scale: 2, alignment: 1 });
    const result = runOnnxChecker(converted.onnx, 'print(len(m.graph.node))');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = await runOnnx(converted.onnx, randomArray(3 * 5 * 6, 4), [1, 3, 5, 6]);
    expect(out.dims).toEqual([1, 3, 10, 12]);
    expect(out.data.every(Number.isFinite)).toBe(true);
  });
});
