/**
 * Deletes stored outputs and uploads older than SUPERRES_OUTPUT_TTL: at start, then every hour
 * (sooner for a short TTL). Several processes sharing one storage may all sweep: deleting what
 * another already deleted is harmless.
 */
import type { Storage } from './contracts.js';

export interface SweeperLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

export interface OutputSweeper {
  /** One sweep now; resolves with how many objects went. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function startOutputSweeper(storage: Pick<Storage, 'clear'>, ttlMs: number, log: SweeperLogger): OutputSweeper {
  let running: Promise<number> | undefined;
  const sweep = (): Promise<number> => {
    running ??= storage
      .clear({ olderThanMs: ttlMs })
      .then(
        (removed) => {
          if (removed > 0) log.info({ removed, ttlMs }, 'expired outputs deleted');
          return removed;
        },
        (err: unknown) => {
          log.warn({ err }, 'could not delete expired outputs');
          return 0;
        },
      )
      .finally(() => (running = undefined));
    return running;
  };
  if (ttlMs <= 0) return { sweep: async () => 0, stop: async () => undefined };
  const timer = setInterval(() => void sweep(), Math.min(3_600_000, Math.max(1000, Math.floor(ttlMs / 4)))).unref();
  void sweep();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
