// SIGKILL at moments spread over a first run (start, checkpoint conversion, inference): the
// converted-graph cache is never left corrupt. Whatever the moment, every cached graph is whole
// (byte-equal to one built by an uninterrupted run) and the next run succeeds.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTempName } from '@superres/models/node';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const weights = needsFixture('superres killed while it converts a checkpoint', 'weights', 'realesr-animevideov3.pth');
const built = existsSync(bin);
const title = built ? weights.title : `${weights.title} (skipped: ${bin} not built; run pnpm build)`;
/** Kill moments: fixed times, and 'write' (the moment the graph cache's directory appears, that is while the converted graph is being written). */
const KILLS: Array<number | 'write'> = [100, 300, 'write', 400, 'write', 500, 'write', 800, 1500];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-kill-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A models directory holding the catalog model's weights and no converted graph yet. */
async function modelsDir(name: string): Promise<string> {
  const models = join(dir, name);
  await mkdir(models, { recursive: true });
  await copyFile(fixture('weights', 'realesr-animevideov3.pth'), join(models, 'realesr-animevideov3.pth'));
  return models;
}

/** Runs an upscale with the catalog model; SIGKILLs it at `kill` when given. */
function run(models: string, out: string, kill?: number | 'write'): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'upscale', fixture('images', 'set5', 'LRx4', 'baby.png'), '-o', out, '--model', 'realesr-animevideov3', '--models-dir', models, '-q'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const onnx = join(models, 'onnx');
  const timer =
    kill === undefined
      ? undefined
      : kill === 'write'
        ? setInterval(() => existsSync(onnx) && child.kill('SIGKILL'), 1)
        : setTimeout(() => child.kill('SIGKILL'), kill);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stderr });
    }),
  );
}

/** The whole files in the graph cache (temporaries of an interrupted write left aside). */
async function cachedGraphs(models: string): Promise<Uint8Array[]> {
  const onnx = join(models, 'onnx');
  const names = existsSync(onnx) ? await readdir(onnx) : [];
  return Promise.all(names.filter((n) => !isTempName(n)).map(async (n) => new Uint8Array(await readFile(join(onnx, n)))));
}

describe.skipIf(weights.missing || !built)(title, () => {
  it(`killed at ${KILLS.length} moments of a first run, the cache stays whole and the next run works`, async () => {
    const reference = await modelsDir('reference');
    const clean = await run(reference, join(dir, 'reference.png'));
    expect(clean).toMatchObject({ code: 0 });
    const [graph] = await cachedGraphs(reference);
    expect(graph?.length).toBeGreaterThan(0);

    for (const [i, ms] of KILLS.entries()) {
      const models = await modelsDir(`killed-${i}`);
      await run(models, join(dir, `killed-${i}.png`), ms);
      for (const cached of await cachedGraphs(models)) expect(Buffer.compare(cached, graph!), `cache after a kill at ${ms} ms`).toBe(0);
      const next = await run(models, join(dir, `next-${i}.png`));
      expect({ ms, code: next.code, stderr: next.stderr }).toEqual({ ms, code: 0, stderr: '' });
      const after = await cachedGraphs(models);
      expect(after).toHaveLength(1);
      expect(Buffer.compare(after[0]!, graph!)).toBe(0);
    }
  });
});
