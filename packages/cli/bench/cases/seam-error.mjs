// How far tiles with a pad below the receptive radius are from the whole image: the error the
// capped 'auto' pad accepts. Real weights (SRVGGNetCompact, radius 18) and a random-weight
// RRDBNet (radius 94 for 6 blocks, capped at 32): random weights are not trained ones, so the
// RRDB figures only show the mechanism, not what the official x4plus would give.
import { readFile } from 'node:fs/promises';
import { upscale } from '@superres/core';
import { buildRrdbOnnx } from '@superres/models';
import { decodeImage } from '@superres/image-io';
import { closeSharedWorkerPool, createNodeBackend, loadModelFile } from '@superres/models/node';
import { fromSession } from '@superres/core';
import { report } from '../lib/measure.mjs';
import { rrdbStateDict } from '../lib/random-models.mjs';

const [weights, input] = process.argv.slice(2);
const full = await decodeImage(await readFile(input));

function crop(image, w, h) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(image.data.subarray(y * image.width * 3, y * image.width * 3 + w * 3), y * w * 3);
  return { width: w, height: h, channels: 3, bitDepth: 8, data };
}

function compare(a, b) {
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (d > 0) differing++;
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.data.length, differingShare: differing / a.data.length };
}

const rows = [];
const srvgg = await loadModelFile(weights);
const image = crop(full, 256, 256);
const whole = await upscale(image, srvgg, { tile: 0 });
for (const pad of [0, 2, 4, 8, 10, 16, 18, 24]) {
  rows.push({ model: 'realesr-animevideov3 (radius 18)', tile: 64, pad, ...compare(await upscale(image, srvgg, { tile: 64, tilePad: pad }), whole) });
}
await srvgg.release();

const built = buildRrdbOnnx(rrdbStateDict(6, 1, 1));
const rrdb = fromSession({ id: 'rrdb6-random', ...built.geometry }, await createNodeBackend().createSession(built.onnx));
const small = crop(full, 128, 128);
const rrdbWhole = await upscale(small, rrdb, { tile: 0 });
for (const pad of [0, 4, 8, 16, 32]) {
  rows.push({ model: `RRDBNet 6 blocks, random weights (radius ${built.geometry.receptiveRadius})`, tile: 64, pad, ...compare(await upscale(small, rrdb, { tile: 64, tilePad: pad }), rrdbWhole) });
}
await rrdb.release();
report({ rows });
await closeSharedWorkerPool();
