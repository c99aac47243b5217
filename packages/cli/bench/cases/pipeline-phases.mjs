// Where the time of a CLI-like run goes, in-process: imports, decode, model load, upscale (and
// ONNX Runtime's own run time within it), encode. "Pipeline overhead" is all but the runs.
const t0 = performance.now();
const { upscale } = await import('@superres/core');
const { decodeImage, encodeImageToFile, configureImageIo } = await import('@superres/image-io');
const { closeSharedWorkerPool, loadModelFile, sharedWorkerPool } = await import('@superres/models/node');
const { readFile, rm } = await import('node:fs/promises');
const { report } = await import('../lib/measure.mjs');
const [weights, input, output] = process.argv.slice(2);
configureImageIo({ cache: false });
const t1 = performance.now();
const opening = loadModelFile(weights);
const image = await decodeImage(await readFile(input));
const t2 = performance.now();
const model = await opening;
const t3 = performance.now();
const out = await upscale(image, model);
const t4 = performance.now();
const { runMs } = sharedWorkerPool().stats();
await encodeImageToFile(out, output, { format: 'png' });
const t5 = performance.now();
await model.release();
await closeSharedWorkerPool();
await rm(output, { force: true });
const t6 = performance.now();
// Node's own start, before this module ran, is counted from process start.
const startMs = performance.timeOrigin ? t0 : 0;
report({
  input: `${image.width}x${image.height}`,
  nodeStartMs: startMs,
  importsMs: t1 - t0,
  decodeMs: t2 - t1,
  modelWaitMs: t3 - t2,
  upscaleMs: t4 - t3,
  runMs,
  encodeMs: t5 - t4,
  closeMs: t6 - t5,
  totalMs: t6,
});
