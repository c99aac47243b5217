// One point of the tile-size curve: time and peak RSS of an upscale at one tile size (0 = the
// whole image), tile pad 'auto', in a fresh process so the runtime's memory is this size's own.
import { readFile } from 'node:fs/promises';
import { upscale, tileSettings } from '@superres/core';
import { decodeImage } from '@superres/image-io';
import { closeSharedWorkerPool, loadModelFile } from '@superres/models/node';
import { peakRss, report, resetPeakRss, timeRuns } from '../lib/measure.mjs';

const [weights, input, tileArg, runs] = process.argv.slice(2);
const model = await loadModelFile(weights);
const image = await decodeImage(await readFile(input));
const options = { tile: Number(tileArg) };
await upscale({ width: 16, height: 16, channels: 3, bitDepth: 8, data: new Uint8Array(768) }, model);
const start = process.memoryUsage().rss;
resetPeakRss();
const timing = await timeRuns(() => upscale(image, model, options), { runs: Number(runs), warmup: 1 });
report({ ...tileSettings(image, model, options), ...timing, startRss: start, peakRss: peakRss() });
await model.release();
await closeSharedWorkerPool();
