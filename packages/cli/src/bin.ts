#!/usr/bin/env node
import { architectureModulesFromEnv, closeSharedWorkerPool, importArchitectureModules, sharedWorkerPool } from '@superres/models/node';
import type { StopSignal } from './interrupt.js';

// An upscale needs a worker with ONNX Runtime loaded: start it now, while the rest of the CLI
// loads and the input decodes (about 150 ms off every run).
if (process.argv[2] === 'upscale') void sharedWorkerPool().warm();

const { configureImageIo } = await import('@superres/image-io');
const { InterruptedError } = await import('./interrupt.js');
const { runCli } = await import('./program.js');

const controller = new AbortController();
const onSignal = (name: StopSignal) => {
  if (controller.signal.aborted) {
    // A second signal ends the process at once, the default way, even mid-tile.
    process.removeAllListeners(name);
    process.kill(process.pid, name);
    return;
  }
  controller.abort(new InterruptedError(name));
};
// Each image is decoded and encoded once: libvips' operation cache would only hold memory.
configureImageIo({ cache: false });
// stdout closed early (`superres upscale ... --json | head -1`) is not an error: stop writing to it.
let stdoutOpen = true;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  stdoutOpen = false;
});
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

// Architectures of the user's own (SUPERRES_ARCHITECTURES), known here as in the pool's workers.
const code = await importArchitectureModules(architectureModulesFromEnv()).then(
  () =>
    runCli(process.argv.slice(2), {
      stdout: (t) => void (stdoutOpen && process.stdout.write(t)),
      stderr: (t) => process.stderr.write(t),
      stderrIsTTY: process.stderr.isTTY === true,
      ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
      signal: controller.signal,
    }),
  (error: Error) => {
    process.stderr.write(`superres: ${error.message}\n`);
    return 2;
  },
);
// A tile still running in a worker finishes there first: ONNX Runtime cannot be interrupted, and
// ending a worker inside a run aborts the whole process.
await closeSharedWorkerPool();
process.exitCode = code;
