import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, withConfigFile } from './config-file.js';
import { parseUpscaleFlags, withEnvironment } from './options.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const flagsFrom = async (raw: Record<string, unknown>, env: Record<string, string>, cwd: string) =>
  parseUpscaleFlags(withConfigFile(withEnvironment(raw, env), await loadConfigFile(raw.config as string | undefined, env, cwd)));

describe('config file', () => {
  it('superres.config.json in the working directory sets defaults; SUPERRES_* and flags win over it', async () => {
    await writeFile(join(dir, 'superres.config.json'), JSON.stringify({ model: 'RealESRGAN_x4plus', tile: 256, ext: 'webp', 'face-enhance': true, 'face-parser': 'none', overwrite: true }));
    const fromFile = await flagsFrom({ output: 'o' }, {}, dir);
    expect(fromFile).toMatchObject({ model: 'RealESRGAN_x4plus', tile: 256, ext: 'webp', overwrite: true });
    // "face-parser": "none": the plain mask, no parser.
    expect(fromFile.faces).toEqual({ restorer: 'GFPGANv1.4', detector: 'retinaface_resnet50', onlyCenterFace: false });
    expect((await flagsFrom({ output: 'o' }, { SUPERRES_TILE: '64' }, dir)).tile).toBe(64);
    expect((await flagsFrom({ output: 'o', tile: '32' }, { SUPERRES_TILE: '64' }, dir)).tile).toBe(32);
    // Switches too: a variable that turns one off wins over the file that turns it on.
    expect((await flagsFrom({ output: 'o' }, { SUPERRES_OVERWRITE: 'false' }, dir)).overwrite).toBe(false);
  });

  it('SUPERRES_MAX_MEMORY wins over the file, as every variable does', async () => {
    const file = join(dir, 'memory.json');
    await writeFile(file, JSON.stringify({ 'max-memory': '1G' }));
    expect((await flagsFrom({ output: 'o', config: file }, {}, dir)).maxMemory).toBe(1024 ** 3);
    expect((await flagsFrom({ output: 'o', config: file }, { SUPERRES_MAX_MEMORY: '256M' }, dir)).maxMemory).toBe(256 * 1024 ** 2);
    expect((await flagsFrom({ output: 'o', config: file, maxMemory: '64M' }, { SUPERRES_MAX_MEMORY: '256M' }, dir)).maxMemory).toBe(64 * 1024 ** 2);
  });

  it('--config and SUPERRES_CONFIG name a file; none found in the working directory is no error', async () => {
    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ scale: 2.5 }));
    expect((await flagsFrom({ output: 'o', config: other }, {}, tmpdir())).scale).toBe(2.5);
    expect((await flagsFrom({ output: 'o' }, { SUPERRES_CONFIG: other }, tmpdir())).scale).toBe(2.5);
    const empty = await mkdtemp(join(dir, 'empty-'));
    expect((await flagsFrom({ output: 'o' }, {}, empty)).model).toBe('realesr-general-x4v3');
  });

  it('refuses a missing named file, bad JSON, an unknown option and a bad value, naming them', async () => {
    await expect(loadConfigFile(join(dir, 'nope.json'), {}, dir)).rejects.toThrow(/nope\.json cannot be read/);
    await writeFile(join(dir, 'bad.json'), '{ "model": ');
    await expect(loadConfigFile(join(dir, 'bad.json'), {}, dir)).rejects.toThrow(/not valid JSON/);
    await writeFile(join(dir, 'unknown.json'), JSON.stringify({ modle: 'x' }));
    await expect(loadConfigFile(join(dir, 'unknown.json'), {}, dir)).rejects.toThrow(/unknown option "modle"/);
    await writeFile(join(dir, 'nested.json'), JSON.stringify({ tile: [1] }));
    await expect(loadConfigFile(join(dir, 'nested.json'), {}, dir)).rejects.toThrow(/"tile" must be a string, a number or true\/false/);
    await writeFile(join(dir, 'range.json'), JSON.stringify({ quality: 300 }));
    await expect(flagsFrom({ output: 'o', config: join(dir, 'range.json') }, {}, dir)).rejects.toThrow(/--quality must be at most 100/);
  });
});
