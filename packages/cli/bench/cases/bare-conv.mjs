// The reference for "inference at the hardware's pace": 16 bare 64->64 3x3 convolutions (no
// activations) at one size, the same threads, the same worker path.
import { OnnxGraphBuilder, attr } from '@superres/models';
import { closeSharedWorkerPool, createNodeBackend } from '@superres/models/node';
import { median, report } from '../lib/measure.mjs';

const [width, height, runs] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const C = 64;
const DEPTH = 16;
const g = new OnnxGraphBuilder('bare').input('x', 'float32', [1, C, 'H', 'W']);
let x = 'x';
for (let k = 0; k < DEPTH; k++) {
  g.initializer(`w${k}`, [C, C, 3, 3], Float32Array.from({ length: C * C * 9 }, (_, i) => ((i * 7919) % 1000) / 1e5 - 0.005));
  g.initializer(`b${k}`, [C], new Float32Array(C));
  g.node('Conv', [x, `w${k}`, `b${k}`], [`c${k}`], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  x = `c${k}`;
}
const session = await createNodeBackend().createSession(g.output(x, 'float32', [1, C, 'H', 'W']).toBytes());
const run = () => session.run({ data: new Float32Array(C * width * height).fill(0.3), dims: [1, C, height, width] }, { transfer: true });
await run();
const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await run();
  times.push(performance.now() - t0);
}
const ms = median(times);
report({ size: `${width}x${height}`, medianMs: ms, gflopPerSecond: (2 * C * C * 9 * DEPTH * width * height) / 1e9 / (ms / 1000) });
await session.release();
await closeSharedWorkerPool();
