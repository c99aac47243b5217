import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@superres/cli';
import { fixture, fixturesDir, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { writeTinyOnnx } from './tiny-model.js';

sharp.concurrency(2);
const run = promisify(execFile);
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const reference = join(repoRoot, 'packages/models/test/fixtures/reference/animevideov3/baby.png');
const weights = needsFixture('superres upscale with the official realesr-animevideov3.pth', 'weights', 'realesr-animevideov3.pth');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rawRgb(path: string) {
  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return { data, info };
}

async function maxDiffToReference(path: string): Promise<number> {
  const [a, b] = await Promise.all([rawRgb(path), rawRgb(reference)]);
  expect([a.info.width, a.info.height, a.info.channels]).toEqual([b.info.width, b.info.height, b.info.channels]);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  return max;
}

function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  return runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }).then((code) => ({
    code,
    stdout,
    stderr,
  }));
}

describe.skipIf(weights.missing)(weights.title, () => {
  const input = fixture('images', 'set5', 'LRx4', 'baby.png');
  const model = fixture('weights', 'realesr-animevideov3.pth');

  it('the built binary writes a 504x504 PNG within 1/255 of PyTorch', async () => {
    const out = join(dir, 'baby-x4.png');
    const { stdout } = await run(process.execPath, [bin, 'upscale', input, '-o', out, '--model', model], { cwd: repoRoot });
    expect(stdout).toContain('504x504');
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 504, 504]);
    expect(await maxDiffToReference(out)).toBeLessThanOrEqual(1);
  });

  it('--tile 64 --tile-pad 24 gives the same result within 1/255', async () => {
    const out = join(dir, 'baby-tiled.png');
    const result = await cli(['upscale', input, '-o', out, '--model', model, '--tile', '64', '--tile-pad', '24']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('tile 4/4');
    expect(await maxDiffToReference(out)).toBeLessThanOrEqual(1);
  });

  it('--scale 3 gives 378x378', async () => {
    const out = join(dir, 'baby-x3.webp');
    const result = await cli(['upscale', input, '-o', out, '--model', model, '--scale', '3']);
    expect(result.code, result.stderr).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 378, 378]);
  });
});

const kinds = needsFixture('every Real-ESRGAN demo input keeps its channels and bit depth', 'images', 'realesrgan');
describe.skipIf(kinds.missing)(kinds.title, () => {
  let tinyModel: string;
  beforeAll(async () => {
    tinyModel = await writeTinyOnnx(join(dir, 'tiny-x2.onnx'), 2);
  });

  it.each([
    ['00003.png', 3, 8],
    ['00017_gray.png', 1, 8],
    ['0014.jpg', 3, 8],
    ['0030.jpg', 3, 8],
    ['ADE_val_00000114.jpg', 3, 8],
    ['OST_009.png', 3, 8],
    ['children-alpha.png', 4, 8],
    ['tree_alpha_16bit.png', 4, 16],
    ['wolf_gray.jpg', 1, 8],
  ])('%s -> %i channel(s), %i-bit PNG', async (name, channels, bits) => {
    const input = fixture('images', 'realesrgan', name);
    const out = join(dir, `${name}.png`);
    const result = await cli(['upscale', input, '-o', out, '--model', tinyModel, '--tile', '128', '-q']);
    expect(result.code, result.stderr).toBe(0);
    const [inMeta, outMeta] = await Promise.all([sharp(input).metadata(), sharp(out).metadata()]);
    expect(outMeta.channels).toBe(channels);
    expect(outMeta.depth).toBe(bits === 16 ? 'ushort' : 'uchar');
    expect([outMeta.width, outMeta.height]).toEqual([inMeta.width! * 2, inMeta.height! * 2]);
  });

  it('applies EXIF orientation (a JPEG tagged "rotate 90")', async () => {
    const rotated = join(dir, 'rotated.jpg');
    await sharp(fixture('images', 'realesrgan', '0014.jpg'))
      .resize(60, 40)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toFile(rotated);
    const out = join(dir, 'rotated-x2.png');
    const result = await cli(['upscale', rotated, '-o', out, '--model', tinyModel]);
    expect(result.code, result.stderr).toBe(0);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([80, 120]);
  });
});

describe('bad input gives a clear error and an exit code', () => {
  it('refuses an unknown output extension before doing any work', async () => {
    const result = await cli(['upscale', 'missing.png', '-o', join(dir, 'x.gif'), '--model', 'm.pth']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\.png, \.jpg.*E_INVALID_OPTION/);
  });

  it('names the flag of an invalid number', async () => {
    const result = await cli(['upscale', 'in.png', '-o', join(dir, 'x.png'), '--model', 'm.pth', '--tile', '-1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--tile');
  });

  it('reports a file that is not an image', async () => {
    const notImage = join(dir, 'not-image.png');
    await writeFile(notImage, 'hello');
    const result = await cli(['upscale', notImage, '-o', join(dir, 'y.png'), '--model', 'm.pth']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('E_BAD_IMAGE');
  });

  it('reports a model file that is no checkpoint, and writes no output', async () => {
    const badModel = join(dir, 'bad.pth');
    await writeFile(badModel, Buffer.from('PK\u0003\u0004 truncated'));
    const out = join(dir, 'never.png');
    const result = await cli(['upscale', fixture('images', 'realesrgan', '0014.jpg'), '-o', out, '--model', badModel]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('E_BAD_CHECKPOINT');
    expect((await readdir(dir)).filter((f) => f.includes('never'))).toEqual([]);
  });

  it('says which input file is missing', async () => {
    const result = await cli(['upscale', join(fixturesDir, 'nope.png'), '-o', join(dir, 'z.png'), '--model', 'm.pth']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nope.png');
  });
});
