/** startWorker: a process that only runs jobs from Redis (`superres worker`). */
import { InvalidOptionError } from '@superres/core';
import type { ServerConfig } from './config.js';
import { createRuntime, type Logger } from './runtime.js';

export interface RunningWorker {
  close(): Promise<void>;
}

/** One JSON line per event on stderr (the worker has no HTTP server, hence no Fastify logger). */
export function jsonLogger(write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    const { err, ...rest } = obj;
    const error = err instanceof Error ? { err: { message: err.message, code: (err as { code?: unknown }).code } } : {};
    write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, msg, ...rest, ...error })}\n`);
  };
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export async function startWorker(config: ServerConfig, log: Logger = jsonLogger()): Promise<RunningWorker> {
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
