// `superres upscale` on many images through the built binary, with the official
// realesr-animevideov3.pth: a directory tree of mixed formats into an output directory (--ext
// auto, -r, skipped and overwritten outputs, --json), every output format, several models, one bad
// image in a batch, and paths refused before any model loads.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { writeTinyOnnx } from './tiny-model.js';

const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const weights = needsFixture('superres upscale, batches', 'weights', 'realesr-animevideov3.pth');
const images = needsFixture(weights.title, 'images', 'set5', 'LRx4');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
function superres(args: string[], cwd = dir): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(weights.missing || images.missing)(weights.title, () => {
  const model = fixture('weights', 'realesr-animevideov3.pth');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-batch-'));
    // in/: a PNG, a JPEG, an RGBA PNG, and in in/deeper/: a gray PNG and a WebP.
    await mkdir(join(dir, 'in', 'deeper'), { recursive: true });
    await copyFile(fixture('images', 'set5', 'LRx4', 'baby.png'), join(dir, 'in', 'baby.png'));
    const bird = sharp(fixture('images', 'set5', 'LRx4', 'bird.png'));
    await bird.clone().jpeg().toFile(join(dir, 'in', 'bird.jpg'));
    await bird.clone().ensureAlpha(0.5).png().toFile(join(dir, 'in', 'bird-alpha.png'));
    await sharp(fixture('images', 'set5', 'LRx4', 'head.png')).greyscale().toColourspace('b-w').png().toFile(join(dir, 'in', 'deeper', 'head-gray.png'));
    await sharp(fixture('images', 'set5', 'LRx4', 'woman.png')).webp({ lossless: true }).toFile(join(dir, 'in', 'deeper', 'woman.webp'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a directory tree with -r and --ext auto: each output in its own format, the tree mirrored, --json lines', async () => {
    const result = await superres(['upscale', 'in', '-o', 'out', '-r', '--model', model, '--json', '-q']);
    expect(result.code, result.stderr).toBe(0);
    const records = lines(result.stdout);
    const summary = records.pop()!;
    expect(summary).toMatchObject({ type: 'summary', done: 5, skipped: 0, failed: 0 });
    expect(records.map((r) => r.output).sort()).toEqual(['out/baby.png', 'out/bird-alpha.png', 'out/bird.jpg', 'out/deeper/head-gray.png', 'out/deeper/woman.webp']);
    for (const r of records) {
      expect(r).toMatchObject({ type: 'image', status: 'done', model: 'realesr-animevideov3' });
      const timings = r.timings_ms as Record<string, number>;
      expect(Object.keys(timings).sort()).toEqual(['decode', 'encode', 'upscale']);
      const [input, output] = [r.input_size as { width: number; channels: number }, r.output_size as { width: number; channels: number }];
      expect(output.width).toBe(input.width * 4);
      expect(output.channels).toBe(input.channels);
      expect(r.bytes).toBeGreaterThan(0);
    }
    const meta = async (p: string) => sharp(join(dir, p)).metadata();
    expect((await meta('out/bird.jpg')).format).toBe('jpeg');
    expect(await meta('out/bird-alpha.png')).toMatchObject({ format: 'png', channels: 4 });
    expect(await meta('out/deeper/head-gray.png')).toMatchObject({ format: 'png', channels: 1 });
    expect((await meta('out/deeper/woman.webp')).format).toBe('webp');

    // Again: everything is there, so everything is skipped (exit 0); --overwrite redoes one.
    const again = await superres(['upscale', 'in', '-o', 'out', '-r', '--model', model, '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/exists, skipped/g)).toHaveLength(5);
    const redo = await superres(['upscale', 'in/baby.png', 'in/bird.jpg', '-o', 'out', '--model', model, '--overwrite', '--json', '-q']);
    expect(lines(redo.stdout).pop()).toMatchObject({ done: 2, skipped: 0 });
  });

  it('--ext, --suffix and a glob; without -r a directory gives only its own images', async () => {
    const result = await superres(['upscale', 'in/**/*.png', '-o', 'globbed', '--ext', 'webp', '--suffix', '_x4', '--model', model, '-q']);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(join(dir, 'globbed'), { recursive: true })).sort()).toEqual(['baby_x4.webp', 'bird-alpha_x4.webp', 'deeper', 'deeper/head-gray_x4.webp']);
    const flat = await superres(['upscale', 'in', '-o', 'flat', '--model', model, '--json', '-q']);
    expect(lines(flat.stdout).pop()).toMatchObject({ done: 3 });
  });

  it('reads defaults from superres.config.json in the working directory; a flag wins', async () => {
    const project = join(dir, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'superres.config.json'), JSON.stringify({ model, ext: 'webp', suffix: '_cfg', scale: 2 }));
    const result = await superres(['upscale', join(dir, 'in', 'baby.png'), join(dir, 'in', 'bird.jpg'), '-o', 'out', '-q', '--ext', 'png'], project);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(join(project, 'out'))).sort()).toEqual(['baby_cfg.png', 'bird_cfg.png']);
    expect((await sharp(join(project, 'out', 'baby_cfg.png')).metadata()).width).toBe(252);
  });

  it('writes every output format', async () => {
    for (const [ext, format] of [['png', 'png'], ['jpg', 'jpeg'], ['webp', 'webp'], ['avif', 'heif']] as const) {
      const result = await superres(['upscale', 'in/baby.png', '-o', `baby.${ext}`, '--model', model, '-q', '--scale', '2']);
      expect(result.code, result.stderr).toBe(0);
      expect(await sharp(join(dir, `baby.${ext}`)).metadata()).toMatchObject({ format, width: 252, height: 252 });
    }
  });

  it('--model a,b runs each model and names the outputs by model', async () => {
    const tiny = await writeTinyOnnx(join(dir, 'tiny-x2.onnx'), 2);
    const result = await superres(['upscale', 'in/baby.png', '-o', 'cmp.png', '--model', `${model},${tiny}`, '-q']);
    expect(result.code, result.stderr).toBe(0);
    expect(await sharp(join(dir, 'cmp_realesr-animevideov3.png')).metadata()).toMatchObject({ width: 504 });
    expect(await sharp(join(dir, 'cmp_tiny-x2.png')).metadata()).toMatchObject({ width: 252 });
  });

  it('compare: a Lanczos baseline and each model side by side, the model panel pixel for pixel the plain upscale', async () => {
    const result = await superres(['compare', 'in/baby.png', '-m', model, '-o', 'compare.png', '-q']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Lanczos | realesr-animevideov3 at x4');
    const meta = await sharp(join(dir, 'compare.png')).metadata();
    // Two 504-pixel panels with 8-pixel gaps, under a 36-pixel caption.
    expect([meta.width, meta.height]).toEqual([8 + 504 + 8 + 504 + 8, 36 + 504 + 8]);
    await superres(['upscale', 'in/baby.png', '-o', 'plain-x4.png', '--model', model, '-q', '--overwrite']);
    const panel = await sharp(join(dir, 'compare.png')).extract({ left: 520, top: 36, width: 504, height: 504 }).removeAlpha().raw().toBuffer();
    const plain = await sharp(join(dir, 'plain-x4.png')).raw().toBuffer();
    expect(panel.equals(plain)).toBe(true);
  });

  it('an animated input: the first frame is upscaled, and the result says so', async () => {
    const frame = (background: string) => sharp({ create: { width: 16, height: 12, channels: 3, background } }).png().toBuffer();
    await sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } }).webp().toFile(join(dir, 'anim.webp'));
    const result = await superres(['upscale', 'anim.webp', '-o', 'anim-x4.png', '--model', model, '-q', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)[0]).toMatchObject({ status: 'done', note: 'animated input (2 frames): the first frame was upscaled', output_size: { width: 64, height: 48 } });
    // The first frame is red.
    const { data } = await sharp(join(dir, 'anim-x4.png')).raw().toBuffer({ resolveWithObject: true });
    expect(data[0]! > 200 && data[2]! < 60).toBe(true);
  });

  it('one bad image does not stop the batch: the others are written, exit 1, a summary names it', async () => {
    await mkdir(join(dir, 'mixed'), { recursive: true });
    await copyFile(join(dir, 'in', 'baby.png'), join(dir, 'mixed', 'a.png'));
    await writeFile(join(dir, 'mixed', 'b.png'), 'not an image');
    await copyFile(join(dir, 'in', 'bird.jpg'), join(dir, 'mixed', 'c.jpg'));
    const result = await superres(['upscale', 'mixed', '-o', 'mixed-out', '--model', model, '-q']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mixed\/b\.png: Cannot decode image.*\[E_BAD_IMAGE\]/);
    expect(result.stderr).toContain('superres: 2 done, 0 skipped, 1 failed: mixed/b.png (E_BAD_IMAGE)');
    expect((await readdir(join(dir, 'mixed-out'))).sort()).toEqual(['a.png', 'c.jpg']);
  });

  it('refuses bad paths before any model loads (a broken model file is never read), with codes and exit codes', async () => {
    const broken = join(dir, 'broken.pth');
    await writeFile(broken, 'PK\u0003\u0004 not a checkpoint');
    await writeFile(join(dir, 'a-file'), 'x');
    const cases: [string[], number, RegExp][] = [
      [['upscale', 'in/baby.png', '-o', 'a-file/out.png'], 1, /E_OUTPUT_NOT_WRITABLE/],
      [['upscale', 'in', '-o', 'a-file'], 2, /a-file is a file.*\[E_OUTPUT_IS_FILE\]/],
      [['upscale', 'in/nope.png', '-o', 'x.png'], 1, /Input not found: in\/nope\.png.*\[E_INPUT_NOT_FOUND\]/],
      [['upscale', 'in/baby.png', '-o', 'in/baby.png'], 2, /would replace its own input.*\[E_OUTPUT_IS_INPUT\]/],
      [['upscale', 'in/baby.png', '-o', 'x.gif'], 2, /\.avif.*\[E_INVALID_OPTION\]/],
    ];
    for (const [args, code, message] of cases) {
      const result = await superres([...args, '--model', broken, '-q']);
      expect({ args, code: result.code }).toEqual({ args, code });
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('E_BAD_CHECKPOINT');
    }
    const unknown = await superres(['upscale', 'in/baby.png', '-o', 'u.png', '--model', 'no-such-model', '-q']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('[E_MODEL_NOT_FOUND]');
    const json = await superres(['upscale', 'in/baby.png', '-o', 'u.png', '--model', 'no-such-model', '-q', '--json']);
    expect(lines(json.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'E_MODEL_NOT_FOUND' })]);
  });

  it('--version and doctor', async () => {
    const version = await superres(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const doctor = await superres(['doctor', '--models-dir', join(dir, 'models'), '--json']);
    expect(doctor.code, doctor.stdout).toBe(0);
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; status: string }[] }).checks;
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'onnxruntime', 'provider cpu', 'image codecs', 'models directory', 'model realesr-general-x4v3']));
    expect(checks.find((c) => c.name === 'onnxruntime')?.status).toBe('ok');
    expect(checks.find((c) => c.name === 'model realesr-general-x4v3')?.status).toBe('warn');
  });

  it('keeps EXIF (orientation reset), the ICC profile and XMP of a JPEG, or writes none with --strip', async () => {
    const model = fixture('weights', 'realesr-animevideov3.pth');
    await sharp(fixture('images', 'set5', 'LRx4', 'baby.png'))
      .resize(40, 30)
      .withExifMerge({ IFD0: { Make: 'SuperresCam' } })
      .withMetadata({ orientation: 6 })
      .withIccProfile('p3')
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="batch-test"/></rdf:RDF></x:xmpmeta>')
      .jpeg()
      .toFile(join(dir, 'tagged.jpg'));
    const kept = await superres(['upscale', 'tagged.jpg', '-o', 'tagged-x4.jpg', '--model', model, '-q', '--json']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(lines(kept.stdout)[0]).toMatchObject({ metadata: { exif: true, icc: true, xmp: true } });
    const meta = await sharp(join(dir, 'tagged-x4.jpg')).metadata();
    // The rotation was applied: 30x40 upright, 4x.
    expect([meta.width, meta.height, meta.orientation]).toEqual([120, 160, 1]);
    expect(meta.exif?.toString('latin1')).toContain('SuperresCam');
    expect(meta.icc?.length).toBeGreaterThan(100);
    expect(meta.xmp?.toString('utf8')).toContain('batch-test');
    const stripped = await superres(['upscale', 'tagged.jpg', '-o', 'stripped.png', '--model', model, '-q', '--strip']);
    expect(stripped.code, stripped.stderr).toBe(0);
    const bare = await sharp(join(dir, 'stripped.png')).metadata();
    expect([bare.exif, bare.icc, bare.xmp]).toEqual([undefined, undefined, undefined]);
  });
});
