import { InvalidOptionError } from '@superres/core';
import { DEFAULT_MODEL_ID } from '@superres/models';
import { describe, expect, it } from 'vitest';
import { parseUpscaleFlags } from './options.js';

const error = (raw: Record<string, unknown>): InvalidOptionError => {
  try {
    parseUpscaleFlags({ output: 'o.png', ...raw });
  } catch (e) {
    return e as InvalidOptionError;
  }
  throw new Error('no error');
};

describe('parseUpscaleFlags', () => {
  it('fills the defaults', () => {
    expect(parseUpscaleFlags({ output: 'o.png' })).toEqual({
      output: 'o.png',
      model: DEFAULT_MODEL_ID,
      denoise: undefined,
      modelsDir: undefined,
      scale: undefined,
      tile: 'auto',
      tilePad: 'auto',
      maxMemory: undefined,
      prePad: 0,
      alpha: 'model',
      device: 'cpu',
      threads: undefined,
      quality: 95,
      maxPixels: undefined,
      quiet: false,
    });
  });

  it('turns commander\'s strings into checked values', () => {
    expect(parseUpscaleFlags({ output: 'o.png', tile: '256', tilePad: 'auto', maxMemory: '512M', scale: '2.5', denoise: '0', quality: '80', device: 'auto', quiet: true })).toMatchObject({
      tile: 256,
      tilePad: 'auto',
      maxMemory: 512 * 1024 * 1024,
      scale: 2.5,
      denoise: 0,
      quality: 80,
      device: 'auto',
      quiet: true,
    });
  });

  it.each([
    [{ tile: '-1' }, '--tile', '"auto" or an integer >= 0'],
    [{ tile: 'big' }, '--tile', '"auto"'],
    [{ tilePad: '2.5' }, '--tile-pad', 'integer'],
    [{ scale: '0' }, '--scale', 'positive'],
    [{ scale: 'x' }, '--scale', 'a number'],
    [{ denoise: '1.5' }, '--denoise', 'from 0 to 1'],
    [{ quality: '101' }, '--quality', 'at most 100'],
    [{ threads: '0' }, '--threads', '>= 1'],
    [{ alpha: 'bicubic' }, '--alpha', '"model" or "resize"'],
    [{ device: 'tpu' }, '--device', '"cpu", "cuda", "webgpu" or "auto"'],
    [{ maxMemory: 'lots' }, '--max-memory', 'size'],
    [{ output: '' }, '--output', 'required'],
  ])('%o is refused, naming %s', (raw, flag, expected) => {
    const e = error(raw);
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.message).toContain(flag);
    expect(e.message).toContain(expected);
  });
});
