// One row of the modern-architecture table: a checkpoint file converted by superres (timed), then
// the network's whole-image forward pass by ONNX Runtime in a worker on a W x H input (the median
// of `runs` after a warm-up). GFLOP/s counts 2 x the architecture's multiply-adds per output pixel.
// Working memory: the process's peak RSS during one run over its RSS before it, against the
// estimate automatic tiles are sized by (workingBytesPerPixel x input pixels).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { inspectModel, pluginFromCheckpoint } from '@superres/models';
import { closeSharedWorkerPool, createNodeBackend, sharedWorkerPool } from '@superres/models/node';
import { median, peakRss, report, resetPeakRss } from '../lib/measure.mjs';

const [path, width, height, runs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const bytes = new Uint8Array(readFileSync(path));
const t0 = performance.now();
const plugin = pluginFromCheckpoint(basename(path), bytes);
const onnx = await plugin.toOnnx(bytes);
const convertMs = performance.now() - t0;
const session = await createNodeBackend().createSession(onnx);
const input = () => ({ data: Float32Array.from({ length: 3 * width * height }, (_, i) => ((i * 2654435761) % 1000) / 1000), dims: [1, 3, height, width] });
// A tiny run first (the runtime's own start-up), then the first full-size run, measured: later runs
// reuse what the allocator kept.
await session.run({ data: new Float32Array(3 * 16 * 16).fill(0.5), dims: [1, 3, 16, 16] }, { transfer: true });
const before = process.memoryUsage().rss;
resetPeakRss();
await session.run(input(), { transfer: true });
const workingBytes = peakRss() - before;
const times = [];
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  await session.run(input(), { transfer: true });
  times.push(performance.now() - t);
}
const inspection = inspectModel(bytes);
const ms = median(times);
const outputPixels = width * height * plugin.scale ** 2;
report({
  architecture: inspection.architecture,
  scale: plugin.scale,
  parameters: inspection.parameterCount,
  size: `${width}x${height}`,
  runs,
  convertMs,
  onnxMegabytes: onnx.length / 1e6,
  medianMs: ms,
  outputMegapixelsPerSecond: outputPixels / 1e6 / (ms / 1000),
  gflopPerSecond: (2 * (inspection.macsPerOutputPixel ?? 0) * outputPixels) / 1e9 / (ms / 1000),
  peakRssMegabytes: peakRss() / 1e6,
  workingMegabytes: workingBytes / 1e6,
  estimatedWorkingMegabytes: ((plugin.workingBytesPerPixel ?? 0) * width * height) / 1e6,
  threads: sharedWorkerPool().threads,
});
await session.release();
await closeSharedWorkerPool();
