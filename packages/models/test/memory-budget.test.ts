// tile 'auto' keeps an upscale within its memory budget: measured in a child process, on the real
// weights and a large input. What is counted against the budget is the peak RSS during the
// upscale over the (warmed-up) process's size when it started, less the output image itself.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const run = promisify(execFile);
const dist = (pkg: string, file: string) => pathToFileURL(join(repoRoot, 'packages', pkg, 'dist', file)).href;
const weights = needsFixture('tile auto stays within its memory budget', 'weights', 'realesr-animevideov3.pth');
const built = existsSync(join(repoRoot, 'packages/models/dist/node/index.js'));
const linux = existsSync('/proc/self/clear_refs');
const title = !built
  ? `${weights.title} (skipped: packages not built; run pnpm build)`
  : !linux
    ? `${weights.title} (skipped: needs Linux's /proc/self/clear_refs to reset the peak RSS)`
    : weights.title;
const MiB = 1024 * 1024;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-memory-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(weights.missing || !built || !linux)(title, () => {
  it('a 1000x750 x4 upscale in a 96 MiB budget: peak RSS over the start, output excluded, within the budget', async () => {
    const script = join(dir, 'measure.mjs');
    await writeFile(
      script,
      `const { upscale, tileSettings } = await import(${JSON.stringify(dist('core', 'index.js'))});
const { loadModelFile, closeSharedWorkerPool } = await import(${JSON.stringify(dist('models', 'node/index.js'))});
const [weights, budget] = [process.argv[2], Number(process.argv[3])];
const model = await loadModelFile(weights);
// A smooth, varied 1000x750 image (the model's activations do not depend on content, only size).
const width = 1000, height = 750;
const data = new Uint8Array(width * height * 3);
for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.001) * 100 + 127 + (i % 3) * 20) & 255;
const image = { width, height, channels: 3, bitDepth: 8, data };
// Warm up with a small job at the same budget: ONNX Runtime's allocator takes its first chunks
// (a one-time cost of the process, 40-60 MiB, see BENCHMARKS.md) before the start is measured.
await upscale({ width: 300, height: 300, channels: 3, bitDepth: 8, data: new Uint8Array(300 * 300 * 3) }, model, { maxMemory: budget });
// Linux: writing 5 to clear_refs resets the peak RSS (VmHWM), so the peak is the upscale's own.
const { readFileSync, writeFileSync } = await import('node:fs');
const hwm = () => Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
writeFileSync('/proc/self/clear_refs', '5');
const start = process.memoryUsage().rss;
const out = await upscale(image, model, { maxMemory: budget });
const peak = hwm();
console.log(JSON.stringify({ start, peak, output: out.data.length, settings: tileSettings(image, model, { maxMemory: budget }) }));
await model.release();
await closeSharedWorkerPool();
`,
    );
    const budget = 96 * MiB;
    const { stdout } = await run(process.execPath, [script, fixture('weights', 'realesr-animevideov3.pth'), String(budget)], { cwd: dir });
    const r = JSON.parse(stdout.trim()) as { start: number; peak: number; output: number; settings: { tile: number; tilePad: number } };
    expect(r.output).toBe(4000 * 3000 * 3);
    expect(r.settings.tile).toBeGreaterThan(0); // it did tile: the whole image would not fit
    const used = r.peak - r.start - r.output;
    expect(used, `used ${(used / MiB).toFixed(1)} MiB of ${budget / MiB} MiB (tile ${r.settings.tile})`).toBeLessThanOrEqual(budget);
  });
});
