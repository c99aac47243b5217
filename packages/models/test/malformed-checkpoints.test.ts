// Untrusted checkpoints through the whole user path (file -> format -> pickle -> architecture ->
// graph): each gives a typed error with a stable code, never a crash and never code execution.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SuperresError } from '@superres/core';
import { loadModelFile } from '@superres/models/node';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const checkpoints = join(repoRoot, 'packages/models/test/fixtures/checkpoints');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-malformed-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function loadError(path: string): Promise<SuperresError> {
  const error = await loadModelFile(path).then(
    (model) => {
      void model.release();
      throw new Error(`expected ${path} to be refused`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SuperresError);
  return error as SuperresError;
}

async function writeTemp(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('malformed checkpoints', () => {
  it('a pickle that calls os.system is refused by name and nothing runs', async () => {
    await rm('/tmp/pwned', { force: true });
    const error = await loadError(join(checkpoints, 'pwned.pth'));
    expect(error.code).toBe(ErrorCode.UnsafeCheckpoint);
    expect(error.message).toMatch(/forbidden global "posix\.system"/);
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('a checkpoint without a state dict', async () => {
    const error = await loadError(join(checkpoints, 'no-state-dict.pth'));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toMatch(/state dict/);
  });

  it('SRVGGNetCompact tensors of the wrong shape name the tensor and both shapes', async () => {
    const error = await loadError(join(checkpoints, 'srvgg-wrong-shapes.pth'));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
    expect(error.message).toContain('body.2.weight');
    expect(error.message).toMatch(/8, ?8, ?3, ?3/);
    expect(error.message).toMatch(/8, ?4, ?3, ?3/);
  });

  it('a state dict of another architecture is unsupported, not misread', async () => {
    const error = await loadError(join(checkpoints, 'module-state-dict.pth'));
    expect(error.code).toBe(ErrorCode.UnsupportedArchitecture);
  });

  it('a file that is no model at all', async () => {
    const error = await loadError(await writeTemp('text.pth', 'definitely not a checkpoint'));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
  });

  it('an empty file', async () => {
    const error = await loadError(await writeTemp('empty.pth', new Uint8Array(0)));
    expect(error.code).toBe(ErrorCode.BadCheckpoint);
  });

  const official = needsFixture('truncated copies of the official checkpoint', 'weights', 'realesr-animevideov3.pth');
  it.skipIf(official.missing)(official.title, async () => {
    const bytes = await readFile(fixture('weights', 'realesr-animevideov3.pth'));
    for (const fraction of [0.02, 0.5, 0.99]) {
      const cut = bytes.subarray(0, Math.floor(bytes.length * fraction));
      const error = await loadError(await writeTemp(`cut-${fraction}.pth`, cut));
      expect(error.code, `cut at ${fraction}`).toBe(ErrorCode.BadCheckpoint);
    }
  });

  it('an ONNX-looking file that is not a valid graph is a backend error', async () => {
    const error = await loadError(await writeTemp('bad.onnx', new Uint8Array([0x08, 0x07, 0x12, 0xff, 0xff])));
    expect(error.code).toBe(ErrorCode.Backend);
  });
});
