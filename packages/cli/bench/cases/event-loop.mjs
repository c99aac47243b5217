// Event-loop delay on the caller's thread during an upscale with the default options: the model
// runs in a worker, the caller only extracts and stitches tiles in time slices.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFile } from 'node:fs/promises';
import { upscale, tileSettings } from '@superres/core';
import { decodeImage } from '@superres/image-io';
import { closeSharedWorkerPool, loadModelFile } from '@superres/models/node';
import { report } from '../lib/measure.mjs';

const [weights, input] = process.argv.slice(2);
const model = await loadModelFile(weights);
const image = await decodeImage(await readFile(input));
await upscale({ width: 16, height: 16, channels: 3, bitDepth: 8, data: new Uint8Array(768) }, model);
const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
const t0 = performance.now();
const out = await upscale(image, model);
const ms = performance.now() - t0;
histogram.disable();
const toMs = (ns) => ns / 1e6;
report({
  input: `${image.width}x${image.height}`,
  output: `${out.width}x${out.height}`,
  ...tileSettings(image, model),
  upscaleMs: ms,
  // monitorEventLoopDelay reports delays beyond its sampling resolution.
  maxDelayMs: toMs(histogram.max),
  p99DelayMs: toMs(histogram.percentile(99)),
  meanDelayMs: toMs(histogram.mean),
});
await model.release();
await closeSharedWorkerPool();
