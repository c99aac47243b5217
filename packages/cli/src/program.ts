import { Command, CommanderError } from 'commander';
import { isSuperresError } from '@superres/core';
import { registerUpscaleCommand } from './commands/upscale.js';
import { registerModelsCommand } from './commands/models.js';
import { registerServeCommand } from './commands/serve.js';
import { registerWorkerCommand } from './commands/worker.js';
import { registerFacesCommand } from './commands/faces.js';
import type { CliIo } from './io.js';
import { createRequire } from 'node:module';
import { CliError } from './cli-error.js';
import { BatchFailed } from './commands/upscale.js';
import { DoctorFailed, registerDoctorCommand } from './commands/doctor.js';
import { registerCompareCommand } from './commands/compare.js';
import { SIGNAL_EXIT_CODES, stopSignalOf } from './interrupt.js';

export type { CliIo } from './io.js';

/** This package's version, from its package.json (next to dist/ and src/). */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function buildProgram(io: CliIo): Command {
  const program = new Command('superres')
    .description('Image super-resolution with Real-ESRGAN family models on ONNX Runtime')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerUpscaleCommand(program, io);
  registerModelsCommand(program, io);
  registerFacesCommand(program, io);
  registerDoctorCommand(program, io);
  registerCompareCommand(program, io);
  registerServeCommand(program, io);
  registerWorkerCommand(program, io);
  return program;
}

/** Runs the CLI on argv (without the node and script entries); returns the exit code. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const stop = stopSignalOf(io.signal);
    if (stop) {
      io.stderr(`\nsuperres: interrupted (${stop}): stopped, nothing was written\n`);
      return SIGNAL_EXIT_CODES[stop];
    }
    if (error instanceof BatchFailed || error instanceof DoctorFailed) return EXIT_FAILURE;
    if (error instanceof CliError) {
      io.stderr(`superres: ${error.message} [${error.code}]\n`);
      return error.exitCode;
    }
    if (isSuperresError(error)) {
      io.stderr(`superres: ${error.message} [${error.code}]\n`);
      return error.code === 'E_INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILURE;
    }
    const err = error as NodeJS.ErrnoException;
    if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR') {
      io.stderr(`superres: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    io.stderr(`superres: unexpected error: ${err?.stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}
