// Which picked files the demo takes as the model: one file, or an ncnn .param with its .bin.
import { describe, expect, it } from 'vitest';
import { pickModelFiles } from '../src/model-files.js';

const file = (name: string) => new File([new Uint8Array(4)], name);
const names = (picked: ReturnType<typeof pickModelFiles>) =>
  'error' in picked ? picked.error : [picked.main.name, picked.ncnnBin?.name ?? null];

describe('pickModelFiles', () => {
  it('takes a single checkpoint or ONNX file', () => {
    expect(names(pickModelFiles([file('x.pth')]))).toEqual(['x.pth', null]);
    expect(names(pickModelFiles([file('x.ONNX')]))).toEqual(['x.ONNX', null]);
  });

  it('pairs a .param with the .bin of the same name, in either order, among others', () => {
    expect(names(pickModelFiles([file('a.bin'), file('a.param')]))).toEqual(['a.param', 'a.bin']);
    expect(names(pickModelFiles([file('a.param'), file('b.bin'), file('a.bin')]))).toEqual(['a.param', 'a.bin']);
    expect(names(pickModelFiles([file('model.param'), file('weights.bin')]))).toEqual(['model.param', 'weights.bin']);
  });

  it('says what is missing or too much', () => {
    expect(names(pickModelFiles([file('a.param')]))).toMatch(/a\.param needs its \.bin/);
    expect(names(pickModelFiles([file('a.bin')]))).toMatch(/pick it together with its \.param/);
    expect(names(pickModelFiles([file('a.param'), file('b.param'), file('a.bin')]))).toMatch(/one ncnn model at a time/);
    expect(names(pickModelFiles([file('a.pth'), file('b.pth')]))).toMatch(/Pick one model file/);
    expect(names(pickModelFiles([file('a.param'), file('b.bin'), file('c.bin')]))).toMatch(/needs its \.bin/);
  });
});
