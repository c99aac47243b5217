/**
 * The body of one inference worker thread. It owns ONNX Runtime sessions (whose run() blocks the
 * thread that calls it) and converts checkpoints, so that the main thread only plans, moves
 * tiles and stitches. Requests are handled one at a time, in order of arrival.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BackendError, type SessionOptions } from '@superres/core';
import type { ConvertRequest, ConvertResult } from '../../convert/convert-request.js';
import type { NcnnConvertRequest, NcnnConvertResult } from '../../ncnn/convert-request.js';
import { importArchitectureModules } from '../architecture-modules.js';
import { floatOutputs, messageOf } from '../../runtime/ort-common.js';
import { loadOrt, openSession, type Ort, type OrtSession } from '../ort-session.js';
import { serializeError } from './errors.js';
import type { RunNamedReply, RunReply, WorkerReply, WorkerRequest } from './messages.js';
import type * as OrtModule from 'onnxruntime-node';

const port = parentPort;
if (!port) throw new Error('worker-main runs only as a worker thread');

const sessions = new Map<number, Promise<OrtSession>>();
let ort: Ort | undefined;

async function open(session: number, onnx: Uint8Array, options: SessionOptions): Promise<null> {
  ort ??= await loadOrt();
  const opening = openSession(ort, onnx, options);
  sessions.set(session, opening);
  // A failed open is reported once, here; runs on that session then say so themselves.
  await opening;
  return null;
}

async function run(session: number, data: Float32Array, dims: number[]): Promise<{ reply: RunReply; transfer: ArrayBuffer[] }> {
  const opened = sessions.get(session);
  if (!opened || !ort) throw new BackendError(`Session ${session} is not open in this worker`);
  const ortSession = await opened.catch((error: unknown) => {
    throw new BackendError(`The model could not be opened in this worker: ${messageOf(error)}`, { cause: error });
  });
  const inputName = ortSession.inputNames[0];
  const outputName = ortSession.outputNames[0];
  if (inputName === undefined || outputName === undefined) throw new BackendError('The ONNX graph has no input or no output');
  let result: Awaited<ReturnType<OrtSession['run']>>;
  const started = performance.now();
  try {
    result = await ortSession.run({ [inputName]: new ort.Tensor('float32', data, dims) });
  } catch (error) {
    throw new BackendError(`ONNX Runtime inference failed: ${messageOf(error)}`, { cause: error });
  }
  const output = result[outputName];
  if (!output || !(output.data instanceof Float32Array)) {
    throw new BackendError(`The graph's output "${outputName}" is not a float32 tensor (got ${output?.type ?? 'nothing'})`);
  }
  // Whole buffers move without a copy; a view into a larger one is copied first.
  const own = output.data.byteOffset === 0 && output.data.byteLength === output.data.buffer.byteLength;
  const out = own ? output.data : output.data.slice();
  return { reply: { data: out, dims: [...output.dims], ms: performance.now() - started }, transfer: [out.buffer as ArrayBuffer] };
}

async function runNamed(
  session: number,
  inputs: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<{ reply: RunNamedReply; transfer: ArrayBuffer[] }> {
  const opened = sessions.get(session);
  if (!opened || !ort) throw new BackendError(`Session ${session} is not open in this worker`);
  const ortSession = await opened.catch((error: unknown) => {
    throw new BackendError(`The model could not be opened in this worker: ${messageOf(error)}`, { cause: error });
  });
  const feeds: Record<string, OrtModule.Tensor> = {};
  for (const [name, input] of Object.entries(inputs)) {
    if (!ortSession.inputNames.includes(name)) throw new BackendError(`The ONNX graph has no input "${name}" (it has ${ortSession.inputNames.join(', ')})`);
    feeds[name] = new ort.Tensor('float32', input.data, input.dims);
  }
  const started = performance.now();
  let result: Awaited<ReturnType<OrtSession['run']>>;
  try {
    result = await ortSession.run(feeds);
  } catch (error) {
    throw new BackendError(`ONNX Runtime inference failed: ${messageOf(error)}`, { cause: error });
  }
  const ms = performance.now() - started;
  const outputs: RunNamedReply['outputs'] = {};
  const transfer: ArrayBuffer[] = [];
  for (const [name, tensor] of Object.entries(floatOutputs(result, ortSession.outputNames))) {
    const data = tensor.data as Float32Array;
    const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer as ArrayBuffer);
    const moved = own ? data : data.slice();
    outputs[name] = { data: moved, dims: [...tensor.dims] };
    transfer.push(moved.buffer as ArrayBuffer);
  }
  return { reply: { outputs, ms }, transfer };
}

/** The pool's architectureModules, imported once before the first conversion (they register architectures). */
let architecturesLoaded: Promise<void> | undefined;
function loadArchitectureModules(): Promise<void> {
  const modules = (workerData as { architectureModules?: string[] } | null)?.architectureModules ?? [];
  architecturesLoaded ??= (async () => {
    for (const href of modules) {
      try {
        await importArchitectureModules([href]);
      } catch (error) {
        architecturesLoaded = undefined;
        throw new BackendError(`Architecture module ${href} could not be loaded in the worker: ${messageOf((error as Error).cause ?? error)}`, { cause: error });
      }
    }
  })();
  return architecturesLoaded;
}

/** The checkpoint readers and graph builders load on the first conversion: most workers only run models. */
async function convert(request: ConvertRequest | NcnnConvertRequest): Promise<ConvertResult | NcnnConvertResult> {
  if (request.kind === 'ncnn') {
    // An ncnn graph is converted layer by layer: no architecture module is involved.
    const { convertNcnnRequest } = await import('../../ncnn/convert-request.js');
    return convertNcnnRequest(request);
  }
  const { convertRequest } = await import('../../convert/convert-request.js');
  await loadArchitectureModules();
  return convertRequest(request);
}

async function close(session: number): Promise<void> {
  const opened = sessions.get(session);
  sessions.delete(session);
  const ortSession = await opened?.catch(() => undefined);
  await ortSession?.release().catch(() => undefined);
}

async function handle(message: WorkerRequest): Promise<void> {
  if (message.op === 'close') return close(message.session);
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (message.op === 'drain') {
      reply = { id: message.id, ok: true, value: null };
    } else if (message.op === 'warm') {
      ort ??= await loadOrt();
      reply = { id: message.id, ok: true, value: null };
    } else if (message.op === 'open') {
      reply = { id: message.id, ok: true, value: await open(message.session, message.onnx, message.options) };
    } else if (message.op === 'runNamed') {
      const done = await runNamed(message.session, message.inputs);
      reply = { id: message.id, ok: true, value: done.reply };
      transfer = done.transfer;
    } else if (message.op === 'run') {
      const done = await run(message.session, message.data, message.dims);
      reply = { id: message.id, ok: true, value: done.reply };
      transfer = done.transfer;
    } else {
      const converted = await convert(message.request);
      reply = { id: message.id, ok: true, value: converted };
      transfer = [converted.onnx.buffer as ArrayBuffer];
    }
  } catch (error) {
    reply = { id: message.id, ok: false, error: serializeError(error) };
  }
  port!.postMessage(reply, transfer);
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (message: WorkerRequest) => {
  queue = queue.then(() => handle(message));
});
