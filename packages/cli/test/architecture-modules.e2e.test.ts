// SUPERRES_ARCHITECTURES in the built CLI: a module that default-exports a registration (and
// imports nothing) makes a user's architecture known to upscale (converted in the worker pool) and
// to models inspect (on the main thread); without it the file is refused; a module that does not
// load stops the CLI with its name.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test-support/fixtures.js';
import { writeSafetensors } from '../../models/src/checkpoint/test-support/safetensors-writer.js';

const run = promisify(execFile);
const bin = join(repoRoot, 'packages/cli/dist/bin.js');

/** ShiftUp2: nearest x2, then out = x * weight + bias per channel; the API comes as the argument. */
const MODULE = `
export default ({ registerArchitecture, OnnxGraphBuilder, attr }) => registerArchitecture({
  name: 'ShiftUp2',
  kind: 'upscaler',
  signature: [/^shift\\.weight$/, /^shift\\.bias$/],
  detect: (sd) => (sd.has('shift.weight') && sd.has('shift.bias') && sd.size === 2 ? { channels: sd.get('shift.weight').shape[0] } : undefined),
  geometry: () => ({ scale: 2, alignment: 1, receptiveRadius: 0, workingBytesPerPixel: 64 }),
  macsPerOutputPixel: (h) => h.channels,
  build(sd, h) {
    const g = new OnnxGraphBuilder('shift-up2');
    g.input('input', 'float32', [1, h.channels, 'h', 'w']);
    g.initializer('scales', [4], new Float32Array([1, 1, 2, 2]));
    g.initializer('w', [1, h.channels, 1, 1], sd.get('shift.weight').data);
    g.initializer('b', [1, h.channels, 1, 1], sd.get('shift.bias').data);
    g.node('Resize', ['input', '', 'scales'], ['up'], { mode: attr.string('nearest') });
    g.node('Mul', ['up', 'w'], ['scaled']);
    g.node('Add', ['scaled', 'b'], ['output']);
    g.output('output', 'float32', [1, h.channels, 'h2', 'w2']);
    return g.toBytes();
  },
});
`;
const WEIGHT = [0.5, 1, 2];
const BIAS = [0.1, 0, -0.25];
const COLOUR = [200, 80, 30];

let dir: string;
const env = (modules?: string) => {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.SUPERRES_ARCHITECTURES;
  return modules === undefined ? e : { ...e, SUPERRES_ARCHITECTURES: modules };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-arch-'));
  await writeFile(join(dir, 'shift-up2.mjs'), MODULE);
  await writeFile(
    join(dir, 'mine.safetensors'),
    writeSafetensors([
      ['shift.weight', { shape: [3], data: new Float32Array(WEIGHT) }],
      ['shift.bias', { shape: [3], data: new Float32Array(BIAS) }],
    ]),
  );
  await sharp({ create: { width: 20, height: 12, channels: 3, background: { r: COLOUR[0]!, g: COLOUR[1]!, b: COLOUR[2]! } } }).png().toFile(join(dir, 'in.png'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SUPERRES_ARCHITECTURES', () => {
  it('upscale converts a checkpoint of the registered architecture (relative path, in the worker pool)', async () => {
    const out = join(dir, 'out.png');
    const { stdout } = await run(process.execPath, [bin, 'upscale', 'in.png', '-o', out, '--model', 'mine.safetensors'], { cwd: dir, env: env('./shift-up2.mjs') });
    expect(stdout).toContain('40x24');
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([40, 24, 3]);
    // Every pixel: clamp(colour / 255 * weight + bias) in 8 bits, within 1/255.
    const expected = COLOUR.map((v, c) => Math.round(Math.min(1, Math.max(0, (v / 255) * WEIGHT[c]! + BIAS[c]!)) * 255));
    let worst = 0;
    for (let p = 0; p < 40 * 24; p++) for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(data[p * 3 + c]! - expected[c]!));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('models inspect names it (file URL form)', async () => {
    const { stdout } = await run(process.execPath, [bin, 'models', 'inspect', 'mine.safetensors'], { cwd: dir, env: env(`file://${join(dir, 'shift-up2.mjs')}`) });
    expect(stdout).toMatch(/^Architecture: +ShiftUp2$/m);
    expect(stdout).toMatch(/^Scale: +x2/m);
  });

  it('without it, the same file is an unknown architecture', async () => {
    const failed = await run(process.execPath, [bin, 'upscale', 'in.png', '-o', join(dir, 'none.png'), '--model', 'mine.safetensors'], { cwd: dir, env: env() }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toMatch(/architecture/i);
  });

  it('a module that does not load stops the CLI with exit 2, naming it', async () => {
    const failed = await run(process.execPath, [bin, 'models', 'list'], { cwd: dir, env: env('./missing.mjs') }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toContain('missing.mjs');
    expect(failed?.stderr).toMatch(/could not be loaded/);
  });
});
