import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@superres/cli';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { serveBytes, startModelServer, type ModelServer } from '../../models/test/model-server.js';
import { writeTinyOnnx } from './tiny-model.js';

sharp.concurrency(2);
const run = promisify(execFile);
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const ANIME = 'realesr-animevideov3';
const IDS = [
  'RealESRGAN_x4plus',
  'RealESRNet_x4plus',
  'RealESRGAN_x4plus_anime_6B',
  'RealESRGAN_x2plus',
  'realesr-general-x4v3',
  'realesr-animevideov3',
  'realesr-general-wdn-x4v3',
];
const FACE_IDS = ['GFPGANv1.4', 'GFPGANv1.3', 'retinaface_resnet50', 'retinaface_mobile0.25', 'parsenet'];

function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  return runCli(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) }).then((code) => ({ code, stdout, stderr }));
}

let server: ModelServer;
let dir: string;
let models: string;
beforeAll(async () => {
  server = await startModelServer();
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-models-'));
  models = join(dir, 'models');
  process.env.SUPERRES_MODELS_BASE_URL = `${server.origin}/releases`;
});
afterAll(async () => {
  delete process.env.SUPERRES_MODELS_BASE_URL;
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('superres models list', () => {
  it('shows the seven upscalers and the five face models, the default marked', async () => {
    const result = await cli(['models', 'list', '--models-dir', models]);
    expect(result.code, result.stderr).toBe(0);
    for (const id of [...IDS, ...FACE_IDS]) expect(result.stdout).toMatch(new RegExp(`^${id.replace('.', '\\.')}\\s`, 'm'));
    expect(result.stdout).toMatch(/^ID\s+SCALE\s+ARCHITECTURE\s+SIZE\s+INSTALLED\s+DESCRIPTION$/m);
    expect(result.stdout).toMatch(/^realesr-general-x4v3 \*\s+x4\s+SRVGGNetCompact\s+4\.9 MB\s+no\s/m);
    expect(result.stdout).toMatch(/^RealESRGAN_x2plus\s+x2\s+RRDBNet\s+67\.1 MB\s+no\s/m);
    // Face models have no scale.
    expect(result.stdout).toMatch(/^GFPGANv1\.4\s+-\s+GFPGANv1Clean\s+348\.6 MB\s+no\s/m);
    const json = await cli(['models', 'list', '--json', '--models-dir', models]);
    const listed = JSON.parse(json.stdout) as { id: string; kind: string }[];
    expect(listed.map((e) => e.id)).toEqual([...IDS, ...FACE_IDS]);
    expect(listed.map((e) => e.kind)).toEqual([...IDS.map(() => 'upscaler'), 'face-restorer', 'face-restorer', 'face-detector', 'face-detector', 'face-parser']);
  });
});

const real = needsFixture('superres models with the official realesr-animevideov3.pth on a local server', 'weights', `${ANIME}.pth`);
describe.skipIf(real.missing)(real.title, () => {
  const input = fixture('images', 'set5', 'LRx4', 'baby.png');
  const reference = join(repoRoot, 'packages/models/test/fixtures/reference/animevideov3/baby.png');
  beforeAll(async () => {
    server.routes.set(`/releases/${ANIME}.pth`, serveBytes(new Uint8Array(await readFile(fixture('weights', `${ANIME}.pth`)))));
  });

  it('pulls with progress on stderr', async () => {
    const result = await cli(['models', 'pull', ANIME, '--models-dir', models]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`${ANIME}: 100% (2.5 MB of 2.5 MB)`);
    expect(result.stdout).toContain(`${ANIME}: downloaded, sha256 b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d verified`);
    expect(await readdir(models)).toEqual([`${ANIME}.pth`]);
    const again = await cli(['models', 'pull', ANIME, '--models-dir', models]);
    expect(again.stdout).toContain('already installed');
    expect(server.requests).toHaveLength(1);
  });

  it('upscales with --model <catalog id> from the models directory, within 1/255 of PyTorch', async () => {
    const out = join(dir, 'baby-x4.png');
    const result = await cli(['upscale', input, '-o', out, '--model', ANIME, '--models-dir', models]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`504x504, 3 channel(s), 8-bit (model ${ANIME})`);
    const [a, b] = await Promise.all([out, reference].map((p) => sharp(p).raw().toBuffer()));
    let max = 0;
    for (let i = 0; i < a!.length; i++) max = Math.max(max, Math.abs(a![i]! - b![i]!));
    expect(max).toBeLessThanOrEqual(1);
    expect(await readdir(join(models, 'onnx'))).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
  });

  it('refuses a file whose sha256 does not match (E_CHECKSUM), in upscale and in verify', async () => {
    const bad = join(dir, 'bad-models');
    await mkdir(bad);
    await writeFile(join(bad, `${ANIME}.pth`), 'not the weights');
    const upscaled = await cli(['upscale', input, '-o', join(dir, 'never.png'), '--model', ANIME, '--models-dir', bad]);
    expect(upscaled.code).toBe(1);
    expect(upscaled.stderr).toMatch(/Refusing .*realesr-animevideov3\.pth.*\[E_CHECKSUM\]/);
    expect(existsSync(join(dir, 'never.png'))).toBe(false);
    const verified = await cli(['models', 'verify', '--models-dir', bad]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/^mismatch\s+realesr-animevideov3 /m);
    expect(verified.stderr).toContain('E_CHECKSUM');
  });

  it('the built binary reads SUPERRES_MODELS_DIR and exits non-zero when verify finds a mismatch', async () => {
    const env = { ...process.env, SUPERRES_MODELS_DIR: join(dir, 'bad-models') };
    const error = await run(process.execPath, [bin, 'models', 'verify', ANIME], { env }).catch((e: { code: number; stdout: string }) => e);
    expect(error).toMatchObject({ code: 1 });
    expect((error as { stdout: string }).stdout).toMatch(/^mismatch\s+realesr-animevideov3/m);
    const ok = await run(process.execPath, [bin, 'models', 'verify', ANIME], { env: { ...env, SUPERRES_MODELS_DIR: models } });
    expect(ok.stdout).toMatch(/^ok\s+realesr-animevideov3/m);
  });

  it('verifies and removes', async () => {
    const verified = await cli(['models', 'verify', '--models-dir', models]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^ok\s+realesr-animevideov3 /m);
    expect(verified.stdout).toMatch(/^missing\s+RealESRGAN_x4plus$/m);
    const removed = await cli(['models', 'remove', ANIME, '--models-dir', models]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`${ANIME}: removed`);
    expect(await readdir(models)).toEqual(['onnx']);
    expect(await readdir(join(models, 'onnx'))).toEqual([]);
    expect((await cli(['models', 'remove', ANIME, '--models-dir', models])).stdout).toContain('not installed');
  });
});

describe('imported models and --model errors', () => {
  it('imports a file under a custom id and upscales with it', async () => {
    const onnx = await writeTinyOnnx(join(dir, 'tiny-x2.onnx'), 2);
    const imported = await cli(['models', 'import', onnx, '--id', 'my-tiny', '--models-dir', models]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/my-tiny: imported onnx x2 \(onnx, sha256 [0-9a-f]{64}\)/);
    const list = await cli(['models', 'list', '--models-dir', models]);
    expect(list.stdout).toMatch(/^my-tiny\s+x2\s+onnx\s+\S+ MB\s+yes\s+Imported ONNX model x2$/m);

    const out = join(dir, 'tiny.png');
    const source = fixture('images', 'set5', 'LRx4', 'bird.png');
    const result = await cli(['upscale', source, '-o', out, '--model', 'my-tiny', '--models-dir', models, '-q']);
    expect(result.code, result.stderr).toBe(0);
    const [inMeta, outMeta] = await Promise.all([sharp(source).metadata(), sharp(out).metadata()]);
    expect([outMeta.width, outMeta.height]).toEqual([inMeta.width! * 2, inMeta.height! * 2]);

    const clash = await cli(['models', 'import', onnx, '--id', ANIME, '--models-dir', models]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('E_DUPLICATE_MODEL');
    expect((await cli(['models', 'remove', 'my-tiny', '--models-dir', models])).code).toBe(0);
  });

  it('--denoise only for realesr-general-x4v3, and only 0..1', async () => {
    const out = join(dir, 'x.png');
    const other = await cli(['upscale', 'in.png', '-o', out, '--model', ANIME, '--denoise', '0.5', '--models-dir', models]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/--denoise applies only to --model realesr-general-x4v3.*E_INVALID_OPTION/);
    const range = await cli(['upscale', 'in.png', '-o', out, '--denoise', '1.5', '--models-dir', models]);
    expect(range.code).toBe(2);
    expect(range.stderr).toContain('--denoise must be a number from 0 to 1');
  });

  it('names an unknown model id, and a model path that does not exist', async () => {
    const source = fixture('images', 'set5', 'LRx4', 'bird.png');
    const unknown = await cli(['upscale', source, '-o', join(dir, 'u.png'), '--model', 'nope', '--models-dir', models]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown model "nope" \(known: RealESRGAN_x4plus.*\[E_MODEL_NOT_FOUND\]/);
    const path = await cli(['upscale', source, '-o', join(dir, 'u.png'), '--model', 'missing/x.pth', '--models-dir', models]);
    expect(path.stderr).toMatch(/--model missing\/x\.pth: no such file, and no model with that id/);
    expect(server.requests.filter((r) => !r.includes(ANIME))).toEqual([]);
  });
});
