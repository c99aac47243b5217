// One benchmark case in a fresh process, so its peak RSS is its own. Prints one JSON line.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { upscale } from '@superres/core';
import { pluginFromCheckpoint } from '@superres/models';
import { loadModelFile } from '@superres/models/node';

sharp.concurrency(2);
const [kind, weights, input, tile, tilePad, repeats] = process.argv.slice(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timeIt = async (n, fn) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), runs: n };
};

let result;
if (kind === 'convert') {
  const bytes = new Uint8Array(await readFile(weights));
  result = await timeIt(Number(repeats), async () => pluginFromCheckpoint('bench', bytes).toOnnx(bytes));
} else {
  const t0 = performance.now();
  const model = await loadModelFile(weights, { threads: 2 });
  const loadMs = performance.now() - t0;
  const { data, info } = await sharp(input).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { width: info.width, height: info.height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
  const timing = await timeIt(Number(repeats), () => upscale(image, model, { tile: Number(tile), tilePad: Number(tilePad) }));
  const megapixelsOut = (image.width * image.height * model.scale ** 2) / 1e6;
  result = { ...timing, loadMs, input: `${image.width}x${image.height}`, outputMegapixelsPerSecond: megapixelsOut / (timing.medianMs / 1000) };
  await model.release();
}
console.log(JSON.stringify({ ...result, peakRssMiB: process.resourceUsage().maxRSS / 1024 }));
