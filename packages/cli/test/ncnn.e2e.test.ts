// ncnn models (.param with its .bin beside it) where CLI users meet them: upscale --model,
// models import, models inspect; and the clear error when the .bin is missing.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@superres/cli';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { writeTinyNcnn } from './tiny-model.js';

sharp.concurrency(2);
const run = promisify(execFile);
const bin = join(repoRoot, 'packages/cli/dist/bin.js');

function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  return runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }).then((code) => ({ code, stdout, stderr }));
}

let dir: string;
let param: string;
let image: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-ncnn-'));
  param = await writeTinyNcnn(dir);
  image = join(dir, 'in.png');
  await sharp({ create: { width: 20, height: 12, channels: 3, background: { r: 200, g: 80, b: 30 } } }).png().toFile(image);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('superres with an ncnn model', () => {
  it('the built binary upscales with --model x.param (x2 from the graph)', async () => {
    const out = join(dir, 'out.png');
    const { stdout } = await run(process.execPath, [bin, 'upscale', image, '-o', out, '--model', param], { cwd: repoRoot });
    expect(stdout).toContain('40x24');
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([40, 24]);
  });

  it('models import stores it (converted to ONNX) under an id that upscale then uses', async () => {
    const models = join(dir, 'models');
    const imported = await cli(['models', 'import', param, '--id', 'my-ncnn', '--models-dir', models]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^my-ncnn: imported ncnn x2 \(onnx, sha256 [0-9a-f]{64}\)$/m);
    const out = join(dir, 'by-id.png');
    const upscaled = await cli(['upscale', image, '-o', out, '--model', 'my-ncnn', '--models-dir', models]);
    expect(upscaled.code, upscaled.stderr).toBe(0);
    expect((await sharp(out).metadata()).width).toBe(40);
  });

  it('models inspect reads the pair', async () => {
    const result = await cli(['models', 'inspect', param]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Format: +ncnn$/m);
    expect(result.stdout).toMatch(/^Architecture: +ncnn$/m);
    expect(result.stdout).toMatch(/^Scale: +x2 \(alignment 1, receptive radius 1\)$/m);
    expect(result.stdout).toMatch(/^conv\.weight_data +float32 +\[324\]$/m);
    const json = JSON.parse((await cli(['models', 'inspect', param, '--json'])).stdout);
    expect(json).toMatchObject({ format: 'ncnn', scale: 2, parameterCount: 336 });
  });

  it('a missing .bin is an error naming the path looked for', async () => {
    const lonely = join(dir, 'lonely.param');
    await writeFile(lonely, '7767517\n1 1\nInput input 0 1 data\n');
    const result = await cli(['upscale', image, '-o', join(dir, 'never.png'), '--model', lonely]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${join(dir, 'lonely.bin')} was not found`);
    const inspected = await cli(['models', 'inspect', lonely]);
    expect(inspected.code).not.toBe(0);
    expect(inspected.stderr).toContain(`${join(dir, 'lonely.bin')} was not found`);
  });

  it('a .param path that does not exist is not taken for a model id', async () => {
    const result = await cli(['upscale', image, '-o', join(dir, 'never.png'), '--model', 'nowhere.param']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--model nowhere\.param: no such file, and no model with that id/);
  });

  const real = needsFixture('the real realesr-animevideov3 ncnn model upscales baby.png like the .pth', 'ncnn', 'realesr-animevideov3-x4.param');
  it.skipIf(real.missing)(real.title, async () => {
    const reference = join(repoRoot, 'packages/models/test/fixtures/reference/animevideov3/baby.png');
    const out = join(dir, 'baby-ncnn.png');
    const result = await cli(['upscale', fixture('images', 'set5', 'LRx4', 'baby.png'), '-o', out, '--model', fixture('ncnn', 'realesr-animevideov3-x4.param')]);
    expect(result.code, result.stderr).toBe(0);
    const [a, b] = await Promise.all([sharp(out).raw().toBuffer(), sharp(reference).raw().toBuffer()]);
    expect(a.length).toBe(b.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    // The PyTorch reference; float16 weights move a few levels at most.
    expect(max).toBeLessThanOrEqual(3);
  });
});
