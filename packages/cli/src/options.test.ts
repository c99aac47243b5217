import { InvalidOptionError } from '@superres/core';
import { DEFAULT_MODEL_ID } from '@superres/models';
import { describe, expect, it } from 'vitest';
import { CONFIG_FILE_KEYS } from './config-file.js';
import { booleanFromEnv, parseUpscaleFlags, UPSCALE_ENV, UPSCALE_ENV_SWITCHES, withEnvironment } from './options.js';

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
      models: [DEFAULT_MODEL_ID],
      recursive: false,
      ext: 'auto',
      suffix: '',
      overwrite: false,
      json: false,
      strip: false,
      compression: undefined,
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

  it('reads SUPERRES_* where a flag is not given; a flag wins; face variables only with face enhancement', () => {
    const env = { SUPERRES_MODEL: 'RealESRGAN_x4plus', SUPERRES_TILE: '128', SUPERRES_EXT: 'webp', SUPERRES_FACE_MODEL: 'GFPGANv1.3' };
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, env))).toMatchObject({ model: 'RealESRGAN_x4plus', tile: 128, ext: 'webp' });
    expect(parseUpscaleFlags(withEnvironment({ output: 'o', tile: '64' }, env)).tile).toBe(64);
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, env)).faces).toBeUndefined();
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, { ...env, SUPERRES_FACE_ENHANCE: '1' })).faces).toMatchObject({ restorer: 'GFPGANv1.3' });
    expect(() => parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_TILE: 'big' }))).toThrow(/--tile/);
  });

  it('reads SUPERRES_<NAME> for every option a config file may set, and for no other', () => {
    const fromEnv = { ...UPSCALE_ENV, ...UPSCALE_ENV_SWITCHES };
    expect(Object.keys(fromEnv).sort()).toEqual(Object.values(CONFIG_FILE_KEYS).sort());
    // The variable is the long flag's name: --tile-pad reads SUPERRES_TILE_PAD.
    for (const [long, key] of Object.entries(CONFIG_FILE_KEYS)) expect(fromEnv[key], long).toBe(`SUPERRES_${long.toUpperCase().replaceAll('-', '_')}`);
  });

  it('reads --alpha, --compression, --suffix and --max-memory from the environment too', () => {
    const env = { SUPERRES_ALPHA: 'resize', SUPERRES_COMPRESSION: '9', SUPERRES_SUFFIX: '_x4', SUPERRES_MAX_MEMORY: '256M' };
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, env))).toMatchObject({ alpha: 'resize', compression: 9, suffix: '_x4', maxMemory: 256 * 1024 * 1024 });
    expect(parseUpscaleFlags(withEnvironment({ output: 'o', alpha: 'model', compression: '1' }, env))).toMatchObject({ alpha: 'model', compression: 1 });
    expect(() => parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_COMPRESSION: '10' }))).toThrow(/--compression must be 0\.\.9/);
  });

  it('reads switches as true/false, 1/0 or yes/no, naming the variable of anything else', () => {
    const on = { SUPERRES_RECURSIVE: 'yes', SUPERRES_OVERWRITE: ' TRUE ', SUPERRES_STRIP: '1' };
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, on))).toMatchObject({ recursive: true, overwrite: true, strip: true });
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_OVERWRITE: 'no', SUPERRES_STRIP: '0' }))).toMatchObject({ overwrite: false, strip: false });
    // A flag given wins, and its variable is not read.
    expect(parseUpscaleFlags(withEnvironment({ output: 'o', overwrite: true }, { SUPERRES_OVERWRITE: 'maybe' })).overwrite).toBe(true);
    expect(() => withEnvironment({ output: 'o' }, { SUPERRES_STRIP: 'maybe' })).toThrow(/SUPERRES_STRIP must be true or false \(also 1\/0, yes\/no\) \(received "maybe"\)/);
    expect(() => withEnvironment({ output: 'o' }, { SUPERRES_FACE_ENHANCE: 'sometimes' })).toThrow(/SUPERRES_FACE_ENHANCE/);
    // --only-center-face, like the face models, only with face enhancement on.
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_ONLY_CENTER_FACE: 'true' })).faces).toBeUndefined();
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_FACE_ENHANCE: 'yes', SUPERRES_ONLY_CENTER_FACE: 'true' })).faces).toMatchObject({ onlyCenterFace: true });
    expect(parseUpscaleFlags(withEnvironment({ output: 'o' }, { SUPERRES_FACE_ENHANCE: 'false', SUPERRES_FACE_MODEL: 'GFPGANv1.3' })).faces).toBeUndefined();
  });

  it('parses boolean variables as the server does', () => {
    for (const [raw, value] of [['true', true], ['1', true], ['yes', true], ['YES', true], ['false', false], ['0', false], ['no', false], ['', undefined], [undefined, undefined]] as const) {
      expect(booleanFromEnv({ V: raw }, 'V'), String(raw)).toBe(value);
    }
    expect(() => booleanFromEnv({ V: 'on' }, 'V')).toThrow(InvalidOptionError);
  });

  it('splits --model a,b,c and checks --ext, --suffix and --compression', () => {
    expect(parseUpscaleFlags({ output: 'o', model: 'a, b.pth,c' }).models).toEqual(['a', 'b.pth', 'c']);
    expect(() => parseUpscaleFlags({ output: 'o', model: 'a,,b' })).toThrow(/empty name/);
    expect(() => parseUpscaleFlags({ output: 'o', ext: 'gif' })).toThrow(/--ext must be/);
    expect(() => parseUpscaleFlags({ output: 'o', suffix: 'a/b' })).toThrow(/--suffix/);
    expect(() => parseUpscaleFlags({ output: 'o', compression: '10' })).toThrow(/--compression must be 0\.\.9/);
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
