// One cell of the architecture table: a random-weight network (SRVGGNetCompact or RRDBNet x4)
// converted by superres, run by ONNX Runtime in a worker on a W x H input. Whole image in one run
// (what the network costs), unless `tiled`: then upscale() with automatic tiles in a 4 GiB budget
// (RRDBNet needs about 20 KB per input pixel; the default 128 MiB would give 64-pixel tiles).
import { upscale, tileSettings, fromSession } from '@superres/core';
import { buildRrdbOnnx, buildSrvggOnnx } from '@superres/models';
import { closeSharedWorkerPool, createNodeBackend, sharedWorkerPool } from '@superres/models/node';
import { macsPerPixel } from '../lib/flops.mjs';
import { median, report } from '../lib/measure.mjs';
import { rrdbStateDict, srvggStateDict } from '../lib/random-models.mjs';

const [arch, width, height, runs, mode] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6]];
const n = Number(/\d+$/.exec(arch)[0]);
const built = arch.startsWith('srvgg') ? buildSrvggOnnx(srvggStateDict(n)) : buildRrdbOnnx(rrdbStateDict(n, 1, 1));
const session = await createNodeBackend().createSession(built.onnx);
const tensor = () => ({ data: Float32Array.from({ length: 3 * width * height }, (_, i) => ((i * 2654435761) % 1000) / 1000), dims: [1, 3, height, width] });
const image = { width, height, channels: 3, bitDepth: 8, data: Uint8Array.from({ length: 3 * width * height }, (_, i) => (i * 2654435761) % 251) };
const model = fromSession({ id: arch, ...built.geometry }, session);
const options = { maxMemory: 4 * 1024 ** 3 };
const once = mode === 'tiled' ? () => upscale(image, model, options) : () => session.run(tensor(), { transfer: true });
// A first run allocates and warms up; skipped for the longest cells, where one run is minutes.
if (runs > 1) await once();
const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await once();
  times.push(performance.now() - t0);
}
const ms = median(times);
const gflop = (2 * macsPerPixel(arch) * width * height) / 1e9;
report({
  arch,
  size: `${width}x${height}`,
  mode: mode === 'tiled' ? `tiled (${JSON.stringify(tileSettings(image, model, options))}, 4 GiB budget)` : 'whole image',
  runs,
  medianMs: ms,
  outputMegapixelsPerSecond: (width * height * 16) / 1e6 / (ms / 1000),
  gflopPerSecond: gflop / (ms / 1000),
  threads: sharedWorkerPool().threads,
});
await session.release();
await closeSharedWorkerPool();
