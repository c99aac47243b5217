// Converter time and a small upscale, each in a fresh process.
import { readFile } from 'node:fs/promises';
import { upscale } from '@superres/core';
import { pluginFromCheckpoint } from '@superres/models';
import { decodeImage } from '@superres/image-io';
import { closeSharedWorkerPool, loadModelFile } from '@superres/models/node';
import { peakRss, report, timeRuns } from '../lib/measure.mjs';

const [kind, weights, input, runs] = process.argv.slice(2);
if (kind === 'convert') {
  const bytes = new Uint8Array(await readFile(weights));
  report({ ...(await timeRuns(() => pluginFromCheckpoint('bench', bytes).toOnnx(bytes), { runs: Number(runs) })), peakRss: peakRss() });
} else {
  const t0 = performance.now();
  const model = await loadModelFile(weights);
  const loadMs = performance.now() - t0;
  const image = await decodeImage(await readFile(input));
  const timing = await timeRuns(() => upscale(image, model), { runs: Number(runs) });
  const megapixelsOut = (image.width * image.height * model.scale ** 2) / 1e6;
  report({ ...timing, loadMs, input: `${image.width}x${image.height}`, outputMegapixelsPerSecond: megapixelsOut / (timing.medianMs / 1000), peakRss: peakRss() });
  await model.release();
  await closeSharedWorkerPool();
}
