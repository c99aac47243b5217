/** startWorker: a process that only runs jobs from Redis (`superres worker`). */
import { InvalidOptionError } from '@superres/core';
import type { LogLevel, ServerConfig } from './config.js';
import { createRuntime, type Logger } from './runtime.js';

export interface RunningWorker {
  close(): Promise<void>;
}

/** pino's numeric levels, so worker lines sort and filter like the server's. */
const LEVEL_NUMBERS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * One JSON line per event on stdout, in pino's shape (the worker has no HTTP server, hence no
 * Fastify logger): lines below `level` are dropped.
 */
export function jsonLogger(write: (line: string) => void = (l) => process.stdout.write(l), level: LogLevel = 'info'): Logger {
  const threshold = LEVEL_NUMBERS[level];
  const emit = (name: 'info' | 'warn' | 'error') => (obj: Record<string, unknown>, msg?: string) => {
    if (LEVEL_NUMBERS[name] < threshold) return;
    const { err, ...rest } = obj;
    const error = err instanceof Error ? { err: { message: err.message, code: (err as { code?: unknown }).code } } : {};
    write(`${JSON.stringify({ level: LEVEL_NUMBERS[name], time: Date.now(), pid: process.pid, ...rest, ...error, msg })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export async function startWorker(config: ServerConfig, log: Logger = jsonLogger(undefined, config.logLevel)): Promise<RunningWorker> {
  if (!config.redisUrl) {
    throw new InvalidOptionError('SUPERRES_REDIS_URL: required by `superres worker` (workers take jobs from Redis)', {
      details: { option: 'SUPERRES_REDIS_URL' },
    });
  }
  const runtime = await createRuntime(config, log);
  await runtime.startWorker();
  log.info({ concurrency: config.concurrency }, 'superres worker started');
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= runtime.close()) };
}
