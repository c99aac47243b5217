// Face enhancement through the built `superres` binary: `faces detect` against the PyTorch
// reference of facexlib's detector, `upscale --face-enhance` with the real MobileNet-0.25 detector
// (downloaded from a loopback mirror and checked against its catalog sha256) and the small
// GFPGANv1Clean / ParseNet checkpoints as files, the plain-mask option, and the errors users meet.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallGfpganCheckpoint, smallParseNetCheckpoint } from '../../../test-support/face-checkpoints.js';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const detector = needsFixture('superres faces detect / upscale --face-enhance', 'weights', 'detection_mobilenet0.25_Final.pth');
const upscaler = needsFixture(detector.title, 'weights', 'realesr-animevideov3.pth');
const photos = needsFixture(upscaler.title, 'images', 'faces', 'whole', 'Blake_Lively.jpg');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let mirror: Server;
let mirrorUrl: string;

function superres(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, SUPERRES_MODELS_DIR: join(dir, 'models'), SUPERRES_MODELS_BASE_URL: mirrorUrl, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / ((a[2]! - a[0]!) * (a[3]! - a[1]!) + (b[2]! - b[0]!) * (b[3]! - b[1]!) - inter);
}

describe.skipIf(detector.missing || upscaler.missing || photos.missing)(photos.title, () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-cli-faces-'));
    const detectorBytes = await readFile(fixture('weights', 'detection_mobilenet0.25_Final.pth'));
    mirror = createServer((req, res) => {
      if (req.url === '/detection_mobilenet0.25_Final.pth') return res.writeHead(200, { 'content-length': detectorBytes.length }).end(detectorBytes);
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
    await writeFile(join(dir, 'small-gfpgan.safetensors'), smallGfpganCheckpoint());
    await writeFile(join(dir, 'small-parsenet.safetensors'), smallParseNetCheckpoint());
  });
  afterAll(async () => {
    mirror?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('faces detect --json: the reference faces of every photo (IoU >= 0.99, landmarks within 0.5 px)', async () => {
    const reference = JSON.parse(readFileSync(join(repoRoot, 'packages/models/test/fixtures/reference/retinaface/mobilenet0.25.json'), 'utf8')) as {
      images: { image: string; faces: { box: number[]; score: number; landmarks: number[] }[] }[];
    };
    for (const expected of reference.images) {
      const { code, stdout, stderr } = await superres(['faces', 'detect', fixture('images', 'faces', 'whole', expected.image), '--json', '--face-detector', 'retinaface_mobile0.25']);
      expect(code, stderr).toBe(0);
      const found = JSON.parse(stdout) as { faces: { box: number[]; score: number; landmarks: number[][]; restored: boolean }[] };
      expect(found.faces).toHaveLength(expected.faces.length);
      for (const ref of expected.faces) {
        const match = found.faces.reduce((best, f) => (iou(f.box, ref.box) > iou(best.box, ref.box) ? f : best));
        expect(iou(match.box, ref.box)).toBeGreaterThanOrEqual(0.99);
        expect(Math.max(...match.landmarks.flat().map((v, i) => Math.abs(v - ref.landmarks[i]!)))).toBeLessThanOrEqual(0.5);
      }
    }
    const text = await superres(['faces', 'detect', fixture('images', 'faces', 'whole', 'Blake_Lively.jpg'), '--face-detector', 'retinaface_mobile0.25']);
    expect(text.stdout).toMatch(/2 face\(s\)/);
    expect(text.stdout).toMatch(/face 1: box [\d.]+,[\d.]+ - [\d.]+,[\d.]+ {2}score 0\.99/);
    expect(text.stdout).toContain('left eye:');
  });

  it('upscale --face-enhance restores the faces: the output differs from the plain upscale where the faces are, with and without parsing', async () => {
    const input = fixture('images', 'faces', 'whole', 'Blake_Lively.jpg');
    const model = fixture('weights', 'realesr-animevideov3.pth');
    const common = ['--model', model, '-s', '2', '-q'];
    const faceArgs = ['--face-enhance', '--face-model', 'small-gfpgan.safetensors', '--face-detector', 'retinaface_mobile0.25'];
    const runs = [
      ['plain.png', []],
      ['parsed.png', [...faceArgs, '--face-parser', 'small-parsenet.safetensors']],
      ['unparsed.png', [...faceArgs, '--face-parser', 'none']],
    ] as const;
    const images: Buffer[] = [];
    for (const [out, extra] of runs) {
      const result = await superres(['upscale', input, '-o', out, ...common, ...extra]);
      expect(result.code, result.stderr).toBe(0);
      const { data, info } = await sharp(join(dir, out)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([1400, 928]);
      images.push(data);
    }
    const differing = (a: Buffer, b: Buffer) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);
    const [plain, parsed, unparsed] = images as [Buffer, Buffer, Buffer];
    expect(differing(plain, parsed)).toBeGreaterThan(plain.length / 20);
    expect(differing(plain, unparsed)).toBeGreaterThan(plain.length / 20);
    // The two masks differ: parsing leaves out hair edges, neck and background the square mask covers.
    expect(differing(parsed, unparsed)).toBeGreaterThan(0);
  }, 600_000); // 37 s alone; a bound for a loaded machine, not a speed claim.

  it('upscale --face-enhance without obtainable weights: exit 1, every missing file named with its path and URL', async () => {
    const result = await superres(['upscale', fixture('images', 'faces', 'whole', 'Blake_Lively.jpg'), '-o', 'none.png', '--model', fixture('weights', 'realesr-animevideov3.pth'), '--face-enhance', '-q']);
    expect(result.code).toBe(1);
    for (const file of ['GFPGANv1.4.pth', 'detection_Resnet50_Final.pth', 'parsing_parsenet.pth']) expect(result.stderr).toContain(`${mirrorUrl}/${file}`);
    expect(result.stderr).toContain(join(dir, 'models', 'GFPGANv1.4.pth'));
    expect(result.stderr).toContain('[E_DOWNLOAD]');
  });

  it('a --face-* flag without --face-enhance is a usage error', async () => {
    const result = await superres(['upscale', 'in.png', '-o', 'out.png', '--face-model', 'GFPGANv1.3']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--face-model needs --face-enhance');
  });
});
