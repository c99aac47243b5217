import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { envWithFlags, untilStopped } from './serve.js';

const WORKER_FLAGS = {
  redisUrl: 'SUPERRES_REDIS_URL',
  dataDir: 'SUPERRES_DATA_DIR',
  modelsDir: 'SUPERRES_MODELS_DIR',
  publicUrl: 'SUPERRES_PUBLIC_URL',
  concurrency: 'SUPERRES_CONCURRENCY',
};

/** `superres worker`: runs jobs from Redis (SUPERRES_REDIS_URL); start as many as you like. */
export function registerWorkerCommand(program: Command, io: CliIo): void {
  program
    .command('worker')
    .description('Run jobs from Redis (needs SUPERRES_REDIS_URL); any number of workers may run')
    .option('--redis-url <url>', 'Redis URL (SUPERRES_REDIS_URL)')
    .option('--data-dir <dir>', 'data directory (SUPERRES_DATA_DIR)')
    .option('--models-dir <dir>', 'model weights (SUPERRES_MODELS_DIR)')
    .option('--public-url <url>', 'public URL of the API server, for local-storage output URLs (SUPERRES_PUBLIC_URL)')
    .option('--concurrency <n>', 'jobs run at once (SUPERRES_CONCURRENCY)')
    .action(async (flags: Record<string, unknown>) => {
      const { jsonLogger, loadConfig, startWorker } = await import('@superres/server');
      const config = loadConfig(envWithFlags(flags, WORKER_FLAGS));
      const log = jsonLogger((line) => io.stdout(line), config.logLevel);
      const worker = await startWorker(config, log);
      const why = await untilStopped(io);
      log.info({ signal: why }, 'worker stopping: running jobs finish or go back to the queue');
      await worker.close();
    });
}
