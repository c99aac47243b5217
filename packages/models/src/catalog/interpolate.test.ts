import { BadCheckpointError, InvalidOptionError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';
import { buildGraphFromStateDict } from '../architectures/detect.js';
import { interpolateStateDicts } from './interpolate.js';
import { buildDenoisedOnnx, checkDenoise, needsDenoisePartner } from './denoise.js';
import { stateDictToPth, tinySrvgg } from './test-support/write-pth.js';

const t = (shape: number[], values: number[]): TensorEntry => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const dict = (entries: Record<string, TensorEntry>): StateDict => new Map(Object.entries(entries));

describe('interpolateStateDicts (deep network interpolation)', () => {
  const a = dict({ w: t([2, 2], [1, 2, 3, 4]), b: t([2], [10, -10]) });
  const b = dict({ w: t([2, 2], [5, 6, 7, 8]), b: t([2], [0, 10]) });

  it('computes weightA * a + (1 - weightA) * b for every tensor', () => {
    const mixed = interpolateStateDicts(a, b, 0.25);
    expect([...mixed.get('w')!.data]).toEqual([4, 5, 6, 7]);
    expect([...mixed.get('b')!.data]).toEqual([2.5, 5]);
    expect(mixed.get('w')!.shape).toEqual([2, 2]);
    expect([...mixed.keys()]).toEqual(['w', 'b']);
  });

  it('rounds like torch in float32', () => {
    const x = dict({ v: t([1], [0.1]) });
    const y = dict({ v: t([1], [0.7]) });
    const wa = Math.fround(0.3);
    const wb = Math.fround(0.7);
    const expected = Math.fround(Math.fround(wa * Math.fround(0.1)) + Math.fround(wb * Math.fround(0.7)));
    expect(interpolateStateDicts(x, y, 0.3).get('v')!.data[0]).toBe(expected);
  });

  it('weight 1 gives the first, weight 0 the second, exactly', () => {
    const one = interpolateStateDicts(a, b, 1);
    const zero = interpolateStateDicts(a, b, 0);
    for (const key of ['w', 'b']) {
      expect(one.get(key)!.data).toEqual(a.get(key)!.data);
      expect(zero.get(key)!.data).toEqual(b.get(key)!.data);
    }
  });

  it('refuses different tensor names or shapes with BadCheckpointError', () => {
    expect(() => interpolateStateDicts(a, dict({ w: t([2, 2], [0, 0, 0, 0]) }), 0.5)).toThrow(BadCheckpointError);
    expect(() => interpolateStateDicts(a, dict({ w: t([2, 2], [0, 0, 0, 0]) }), 0.5)).toThrow(/only in the first: b/);
    expect(() => interpolateStateDicts(a, dict({ w: t([4], [0, 0, 0, 0]), b: t([2], [0, 0]) }), 0.5)).toThrow(
      /tensor w: shapes \[2, 2\] and \[4\] differ/,
    );
    expect(() => interpolateStateDicts(a, b, Number.NaN)).toThrow(BadCheckpointError);
  });
});

describe('denoise strength for realesr-general-x4v3', () => {
  const x4v3 = tinySrvgg(4, 1);
  const wdn = tinySrvgg(4, 2);

  it('accepts 0..1 inclusive, and only 1 needs no second model', () => {
    expect(checkDenoise(0)).toBe(0);
    expect(checkDenoise(1)).toBe(1);
    for (const bad of [-0.01, 1.01, Number.NaN, '0.5']) expect(() => checkDenoise(bad)).toThrow(InvalidOptionError);
    expect(needsDenoisePartner(undefined)).toBe(false);
    expect(needsDenoisePartner(1)).toBe(false);
    expect(needsDenoisePartner(0)).toBe(true);
    expect(needsDenoisePartner(0.5)).toBe(true);
  });

  it('denoise 1 is x4v3 alone; 0 is wdn alone; 0.3 is the blend (x4v3 is the weighted first)', async () => {
    const graph = (sd: StateDict) => buildGraphFromStateDict(sd).onnx;
    const [pa, pb] = [stateDictToPth(x4v3), stateDictToPth(wdn)];
    expect(await buildDenoisedOnnx(pa, pb, 1)).toEqual(graph(x4v3));
    expect(await buildDenoisedOnnx(pa, pb, 0)).toEqual(graph(wdn));
    expect(await buildDenoisedOnnx(pa, pb, 0.3)).toEqual(graph(interpolateStateDicts(x4v3, wdn, 0.3)));
    expect(await buildDenoisedOnnx(pa, pb, 0.3)).not.toEqual(graph(interpolateStateDicts(wdn, x4v3, 0.3)));
    await expect(buildDenoisedOnnx(pa, pb, 2)).rejects.toThrow(InvalidOptionError);
  });
});
