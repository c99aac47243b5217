import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadCheckpointError, type SuperresError } from '@superres/core';
import type { ModelInspection, StateDict } from '@superres/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/program.js';
import { inspectCommand } from '../src/commands/models-inspect.js';
import { fixture, needsFixture } from '../../../test-support/fixtures.js';
import { tinySrvggStateDict, writeTinyOnnx } from './tiny-model.js';

/** A float32 state dict as a safetensors file: u64 LE header length, JSON header, data. */
function safetensors(sd: StateDict): Uint8Array {
  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of sd) {
    const data = t.data as Float32Array;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + data.byteLength] };
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function capture() {
  const out = { stdout: '', stderr: '' };
  const io = { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) };
  return { out, io };
}

async function inspect(args: string[]) {
  const { out, io } = capture();
  await inspectCommand(io).parseAsync(args, { from: 'user' });
  return out;
}

let dir: string;
let safetensorsFile: string;
let onnxFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-inspect-'));
  safetensorsFile = join(dir, 'tiny.safetensors');
  await writeFile(safetensorsFile, safetensors(tinySrvggStateDict(2)));
  onnxFile = await writeTinyOnnx(join(dir, 'tiny.onnx'), 2);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('superres models inspect', () => {
  it('--json prints the ModelInspection', async () => {
    const { stdout } = await inspect([safetensorsFile, '--json']);
    const inspection = JSON.parse(stdout) as ModelInspection;
    expect(inspection).toMatchObject({
      format: 'safetensors',
      architecture: 'SRVGGNetCompact',
      hyperparameters: { numFeat: 4, numConv: 1, upscale: 2 },
      scale: 2,
      parameterCount: 108 + 4 + 4 + 144 + 4 + 4 + 432 + 12,
      // Per input pixel 9 * (3 * 4 + 4 * 4 + 4 * 12) = 684 multiply-adds, over 2 x 2 output pixels.
      macsPerOutputPixel: 171,
    });
    expect(inspection.tensors[6]).toEqual({ name: 'body.4.weight', dtype: 'float32', shape: [12, 4, 3, 3] });
  });

  it('prints a summary and a tensor table for people', async () => {
    const { stdout } = await inspect([safetensorsFile]);
    expect(stdout).toMatch(/^File: +.*tiny\.safetensors$/m);
    expect(stdout).toMatch(/^Format: +safetensors$/m);
    expect(stdout).toMatch(/^Architecture: +SRVGGNetCompact$/m);
    expect(stdout).toMatch(/^Hyperparameters: +numInCh=3 numOutCh=3 numFeat=4 numConv=1 upscale=2 activation=prelu$/m);
    expect(stdout).toMatch(/^Scale: +x2 \(alignment \d+, receptive radius 3\)$/m);
    expect(stdout).toMatch(/^Cost: +171 multiply-adds per output pixel \(0\.2 G per output megapixel\)$/m);
    expect(stdout).toMatch(/^Parameters: +712 in 8 tensors$/m);
    expect(stdout).toMatch(/^name +dtype +shape$/m);
    expect(stdout).toMatch(/^body\.4\.weight +float32 +\[12, 4, 3, 3\]$/m);
  });

  it('inspects ONNX files', async () => {
    const { stdout } = await inspect([onnxFile]);
    expect(stdout).toMatch(/^Format: +onnx$/m);
    expect(stdout).toMatch(/^Architecture: +SRVGGNetCompact$/m);
    expect(stdout).toMatch(/^Input: +input float32 \[N, 3, H, W\]$/m);
  });

  it('throws typed errors for files it cannot read', async () => {
    const bad = join(dir, 'bad.pth');
    await writeFile(bad, 'not a model');
    const error = await inspect([bad]).catch((e: unknown) => e as SuperresError);
    expect(error).toBeInstanceOf(BadCheckpointError);
  });

  const retinaFace = needsFixture('lists the 300 tensors of the official RetinaFace weights', 'weights', 'detection_mobilenet0.25_Final.pth');
  it.skipIf(retinaFace.missing)(retinaFace.title, async () => {
    const { stdout } = await inspect([fixture('weights', 'detection_mobilenet0.25_Final.pth'), '--json']);
    const inspection = JSON.parse(stdout) as ModelInspection;
    expect(inspection.format).toBe('pytorch-legacy');
    expect(inspection.tensors).toHaveLength(300);
    expect(inspection).toMatchObject({ architecture: 'RetinaFace', kind: 'face-detector' });
    const human = await inspect([fixture('weights', 'detection_mobilenet0.25_Final.pth')]);
    expect(human.stdout).toMatch(/^Architecture: +RetinaFace$/m);
    expect(human.stdout).toMatch(/^Kind: +face-detector$/m);
    expect(human.stdout).not.toMatch(/^Scale:/m);
    expect(human.stdout).toMatch(/^body\.stage3\.1\.4\.num_batches_tracked +int64 +\[\]$/m);
  });

  it('runs as `superres models inspect` once commands/models.ts mounts it', async (ctx) => {
    const { out, io } = capture();
    const code = await runCli(['models', 'inspect', safetensorsFile, '--json'], io);
    if (/unknown command 'models'|unknown command 'inspect'/.test(out.stderr)) {
      ctx.skip('`superres models inspect` is not mounted yet (commands/models.ts)');
    }
    expect(code).toBe(0);
    expect((JSON.parse(out.stdout) as ModelInspection).architecture).toBe('SRVGGNetCompact');
  });
});
