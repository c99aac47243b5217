// A stand-in inference worker speaking the pool's protocol, for tests of the pool itself: it
// doubles its input, blocks its thread like a native run when asked (Atomics.wait), and dies
// mid-run on a sentinel value.
import { parentPort } from 'node:worker_threads';

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

parentPort.on('message', (m) => {
  if (m.op === 'close') return;
  if (m.op === 'open') return parentPort.postMessage({ id: m.id, ok: true, value: null });
  if (m.op === 'convert') {
    return parentPort.postMessage({ id: m.id, ok: false, error: { name: 'BadCheckpointError', message: 'not a checkpoint', code: 'E_BAD_CHECKPOINT', details: { format: 'unknown' } } });
  }
  const data = m.data;
  if (data[0] === 666) process.exit(3);
  if (data[0] < 0) pause(-data[0]);
  const out = data.map((v) => v * 2);
  parentPort.postMessage({ id: m.id, ok: true, value: { data: out, dims: m.dims, ms: 1 } }, [out.buffer]);
});
