/**
 * Webhook deliveries that survive a restart: each pending delivery is a JSON file under
 * `<dataDir>/webhooks/<job id>.json` (url, payload, attempts made), written before the first
 * attempt and updated after each failed one; deleted once delivered or given up. At start, the
 * deliveries a previous process left are resumed where they stopped (same attempt count, so a
 * target that stays down is still given up on after SUPERRES_WEBHOOK_ATTEMPTS in all).
 * Delivery is at least once: a process killed between a delivery and its file's removal sends
 * it again after the restart (receivers tell repeats apart by the job id).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName, writeFileAtomic } from '@superres/models/node';
import type { WebhookPayload } from '../contracts.js';
import type { WebhookSender } from './sender.js';

export interface WebhookOutbox {
  /** Records the delivery on disk, then starts it; resolves once it is recorded. */
  add(jobId: string, url: string, payload: WebhookPayload): Promise<void>;
  /** Starts the deliveries found on disk (a previous process's); resolves with how many. */
  resume(): Promise<number>;
  /** Deliveries under way in this process. */
  pending(): number;
  /** Resolves when every delivery started so far has ended (delivered, given up or cancelled). */
  idle(): Promise<void>;
}

export interface WebhookOutboxOptions {
  dir: string;
  sender: WebhookSender;
  onError?: (err: unknown) => void;
}

interface Pending {
  url: string;
  payload: WebhookPayload;
  attempts: number;
  createdAt: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function createWebhookOutbox(options: WebhookOutboxOptions): WebhookOutbox {
  const { dir, sender, onError } = options;
  const running = new Map<string, Promise<void>>();
  const fileOf = (id: string) => join(dir, `${id}.json`);
  const write = (id: string, entry: Pending) => writeFileAtomic(fileOf(id), JSON.stringify(entry), { mode: 0o600 });

  function start(id: string, entry: Pending): void {
    if (running.has(id)) return;
    const run = (async () => {
      const result = await sender.send(entry.url, entry.payload, {
        attemptsMade: entry.attempts,
        onRetry: (attempts) => write(id, { ...entry, attempts }),
      });
      // Cancelled by a shutdown: the file stays, and the next start resumes it.
      if (!result.cancelled) await rm(fileOf(id), { force: true });
    })()
      .catch(onError)
      .finally(() => running.delete(id));
    running.set(id, run);
  }

  return {
    async add(jobId, url, payload) {
      if (!SAFE_ID.test(jobId) || jobId.includes('..')) throw new TypeError(`webhook outbox: unsafe job id ${JSON.stringify(jobId)}`);
      const entry: Pending = { url, payload, attempts: 0, createdAt: Date.now() };
      await mkdir(dir, { recursive: true });
      await write(jobId, entry);
      start(jobId, entry);
    },

    async resume() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw error;
      }
      let resumed = 0;
      for (const name of names) {
        if (isTempName(name)) {
          await rm(join(dir, name), { force: true });
          continue;
        }
        const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
        if (!SAFE_ID.test(id)) continue;
        try {
          const entry = JSON.parse(await readFile(fileOf(id), 'utf8')) as Pending;
          if (typeof entry?.url !== 'string' || typeof entry.payload !== 'object' || typeof entry.attempts !== 'number') throw new Error('not a delivery');
          start(id, entry);
          resumed++;
        } catch (error) {
          onError?.(new Error(`webhook outbox: skipping unreadable ${fileOf(id)}`, { cause: error }));
        }
      }
      return resumed;
    },

    pending: () => running.size,

    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
    },
  };
}
