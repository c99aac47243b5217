import { BadCheckpointError, type SuperresError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { LayerParams } from './layer-params.js';
import { parseNcnnParam } from './param.js';
import { paramText } from './test-support/tiny-ncnn.js';

function error(text: string): SuperresError {
  try {
    parseNcnnParam(text);
  } catch (e) {
    return e as SuperresError;
  }
  throw new Error('expected parseNcnnParam to throw');
}

function expectBad(text: string, line: number, pattern: RegExp): void {
  const e = error(text);
  expect(e).toBeInstanceOf(BadCheckpointError);
  expect(e.code).toBe('E_BAD_CHECKPOINT');
  expect(e.message).toContain(`line ${line}:`);
  expect(e.message).toMatch(pattern);
  expect(e.details.line).toBe(line);
}

describe('parseNcnnParam', () => {
  it('reads layers, blobs, ints, floats, strings and both array forms', () => {
    const param = parseNcnnParam(
      paramText([
        'Input        in       0 1 data 0=64 1=48 2=3',
        'Interp       up       1 1 data a 0=2 1=4.000000e+00 2=2.5 6=-1',
        'Slice        cut      1 2 a b c -23300=2,1,-233 1=0',
        'Crop         crop     1 1 b d -23309=1,-1.5e-3 10=.5,2,3 11=0 4=hello 5="two words"',
        'Concat       cat      2 1 c d output 0=-1',
      ]),
    );
    expect(param.layers.map((l) => l.type)).toEqual(['Input', 'Interp', 'Slice', 'Crop', 'Concat']);
    expect(param.blobs).toEqual(['data', 'a', 'b', 'c', 'd', 'output']);
    const [input, interp, slice, crop, concat] = param.layers.map((l) => l);
    expect(input!.line).toBe(3);
    expect(input!.params.get(2)).toEqual({ kind: 'int', value: 3 });
    expect(interp!.params.get(1)).toEqual({ kind: 'float', value: 4 });
    expect(interp!.params.get(2)).toEqual({ kind: 'float', value: 2.5 });
    expect(interp!.params.get(6)).toEqual({ kind: 'int', value: -1 });
    // -23300 - 0: the old array form for key 0, with its count.
    expect(slice!.params.get(0)).toEqual({ kind: 'ints', value: [1, -233] });
    expect(slice!.inputs).toEqual(['a']);
    expect(slice!.outputs).toEqual(['b', 'c']);
    expect(crop!.params.get(9)).toEqual({ kind: 'floats', value: [Math.fround(-1.5e-3)] });
    expect(crop!.params.get(10)).toEqual({ kind: 'floats', value: [0.5, 2, 3] });
    expect(crop!.params.get(4)).toEqual({ kind: 'string', value: 'hello' });
    expect(crop!.params.get(5)).toEqual({ kind: 'string', value: 'two words' });
    expect(concat!.params.get(0)).toEqual({ kind: 'int', value: -1 });
    expect(concat!.inputs).toEqual(['c', 'd']);
  });

  it('skips blank lines and CRLF, keeping the file line numbers', () => {
    const text = '7767517\r\n2 2\r\n\r\nInput in 0 1 data\r\n\r\nReLU relu 1 1 data out 0=0.1\r\n';
    const param = parseNcnnParam(text);
    expect(param.layers.map((l) => l.line)).toEqual([4, 6]);
    expect(new LayerParams(param.layers[1]!).float(0, 0)).toBeCloseTo(0.1, 7);
  });

  it('refuses a wrong magic, naming line 1', () => {
    expectBad('7767518\n1 1\nInput in 0 1 data\n', 1, /wrong magic "7767518": expected 7767517/);
    expectBad('', 1, /empty/);
  });

  it('refuses layer and blob counts that do not match the lines', () => {
    expectBad('7767517\n3 1\nInput in 0 1 data\n', 2, /declares 3 layers but 1 layer lines follow/);
    expectBad('7767517\n1 4\nInput in 0 1 data\n', 2, /declares 4 blobs but the layers produce 1/);
    expectBad('7767517\n1\nInput in 0 1 data\n', 2, /expected "<layer count> <blob count>"/);
    expectBad('7767517\n0 0\n', 2, /must be positive/);
  });

  it('refuses a blob consumed before any layer produces it, naming the blob and the layer', () => {
    const text = paramText(['Input in 0 1 data', 'ReLU relu 1 1 nowhere out']);
    expectBad(text, 4, /layer "relu" consumes blob "nowhere" before any layer produces it/);
  });

  it('refuses a blob produced twice and duplicate layer names', () => {
    expectBad('7767517\n2 2\nInput in 0 1 data\nReLU relu 1 1 data data\n', 4, /duplicate blob "data": produced by "in" and again by "relu"/);
    expectBad('7767517\n2 2\nInput in 0 1 data\nReLU in 1 1 data x\n', 4, /duplicate layer name "in"/);
  });

  it('refuses malformed key=value pairs', () => {
    const layer = (kv: string) => paramText(['Input in 0 1 data', `ReLU relu 1 1 data out ${kv}`]);
    expectBad(layer('0=1.2.3'), 4, /"1\.2\.3" is not a number/);
    expectBad(layer('a=1'), 4, /malformed parameter key "a"/);
    expectBad(layer('=1'), 4, /malformed parameter "=1"/);
    expectBad(layer('0='), 4, /has no value/);
    expectBad(layer('32=1'), 4, /key 32 is out of range/);
    expectBad(layer('0=1 0=2'), 4, /parameter 0 is given twice/);
    expectBad(layer('-23300=3,1,2'), 4, /declares 3 values but has 2/);
    expectBad(layer('-23300=x,1'), 4, /array length/);
    expectBad(layer('0=99999999999'), 4, /does not fit a 32-bit int|out of range/);
    expectBad(layer('0=1,,2'), 4, /not a number/);
  });

  it('refuses a layer line with fewer blobs than its counts', () => {
    expectBad(paramText(['Input in 0 1 data', 'BinaryOp add 2 1 data']), 4, /declares 2 inputs and 1 outputs but names only 1 blobs/);
    expectBad('7767517\n2 2\nInput in 0 1 data\nReLU relu 1 1 data 0=1\n', 4, /"0=1" is where a blob name should be/);
  });

  it('typed reads name the layer and key of a value of the wrong kind', () => {
    const param = parseNcnnParam(paramText(['Input in 0 1 data', 'Convolution conv 1 1 data out 0=2.5 1=1,2']));
    const p = new LayerParams(param.layers[1]!);
    expect(() => p.int(0, 0)).toThrow(/line 4: Convolution layer "conv": parameter 0 should be an int, got float 2\.5/);
    expect(() => p.int(1, 0)).toThrow(/parameter 1 should be an int, got ints \[1,2\]/);
    expect(p.int(5, 7)).toBe(7);
    expect(p.float(0, 0)).toBe(2.5);
    expect(p.ints(1)).toEqual([1, 2]);
  });
});
