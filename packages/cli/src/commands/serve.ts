import type { Command } from 'commander';
import type { Env, GeneratedKey } from '@superres/server';
import type { CliIo } from '../io.js';
import { stopSignalOf } from '../interrupt.js';

/** CLI flags mirror the SUPERRES_* variables: each flag given overrides its variable. */
export function envWithFlags(flags: Record<string, unknown>, names: Record<string, string>, env: Env = process.env): Env {
  const out: Record<string, string | undefined> = { ...env };
  for (const [flag, variable] of Object.entries(names)) {
    const value = flags[flag];
    if (value !== undefined && value !== false) out[variable] = String(value);
  }
  return out;
}

export function printGeneratedKeys(keys: GeneratedKey[], io: CliIo): void {
  for (const k of keys) {
    io.stderr(`superres: generated ${k.kind === 'admin' ? 'an admin' : 'an API'} key (shown once; stored in ${k.path}):\n  ${k.key}\n`);
  }
}

/** Resolves with the signal's name when the CLI's signal fires (the binary aborts it on SIGINT and SIGTERM), or at SIGTERM. */
export function untilStopped(io: CliIo): Promise<string> {
  return new Promise((resolve) => {
    const onTerm = () => resolve('SIGTERM');
    process.once('SIGTERM', onTerm);
    io.signal?.addEventListener('abort', () => {
      process.off('SIGTERM', onTerm);
      resolve(stopSignalOf(io.signal) ?? 'SIGINT');
    }, { once: true });
  });
}

const SERVE_FLAGS = {
  port: 'SUPERRES_PORT',
  host: 'SUPERRES_HOST',
  publicUrl: 'SUPERRES_PUBLIC_URL',
  dataDir: 'SUPERRES_DATA_DIR',
  modelsDir: 'SUPERRES_MODELS_DIR',
  redisUrl: 'SUPERRES_REDIS_URL',
  concurrency: 'SUPERRES_CONCURRENCY',
};

/** `superres serve`: the HTTP API (with an embedded queue, or BullMQ with --redis-url). */
export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('Run the HTTP server (Stable Diffusion API compatible super_resolution endpoint)')
    .option('--port <n>', 'TCP port (SUPERRES_PORT, default 3000)')
    .option('--host <address>', 'address to listen on (SUPERRES_HOST, default 127.0.0.1)')
    .option('--public-url <url>', 'base URL clients reach the server at (SUPERRES_PUBLIC_URL)')
    .option('--data-dir <dir>', 'job records, keys, outputs (SUPERRES_DATA_DIR)')
    .option('--models-dir <dir>', 'model weights (SUPERRES_MODELS_DIR)')
    .option('--redis-url <url>', 'run jobs through BullMQ on Redis (SUPERRES_REDIS_URL)')
    .option('--concurrency <n>', 'jobs run at once by this process (SUPERRES_CONCURRENCY)')
    .action(async (flags: Record<string, unknown>) => {
      // Loaded here, not at start: the other commands never pay for the server's dependencies.
      const { loadConfig, startServer } = await import('@superres/server');
      const config = loadConfig(envWithFlags(flags, SERVE_FLAGS));
      const server = await startServer(config);
      // Keys are a notice for the person starting the server, shown once: on stderr, never in the logs.
      printGeneratedKeys(server.generatedKeys, io);
      // The server logs its own "listening" line; every line of the process is JSON on stdout.
      const why = await untilStopped(io);
      server.app.log.info({ signal: why }, 'shutting down: running jobs finish or go back to the queue');
      await server.close();
    });
}
