// Webhook deliveries kept on disk: a sender that stops (SIGTERM) leaves them, and the next
// process resumes them where they were.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayload } from '../contracts.js';
import { startServer, type TestServer } from '../net/test-support/server.js';
import { createWebhookOutbox } from './outbox.js';
import { createWebhookSender, type WebhookSender } from './sender.js';

const payload: WebhookPayload = { status: 'success', id: 'job-7', output: 'http://127.0.0.1:1/outputs/x.png', generationTime: 1 };

let receiver: TestServer;
/** The receiver answers 503 until `up`, then 200; it counts what it got. */
let up = false;
let received = 0;
let dir: string;
const senders: WebhookSender[] = [];

beforeAll(async () => {
  receiver = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.statusCode = up ? 200 : 503;
      res.end();
    });
  });
});
afterAll(() => receiver.close());
afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  if (dir) await rm(dir, { recursive: true, force: true });
  up = false;
  received = 0;
});

function sender(maxAttempts: number): WebhookSender {
  const s = createWebhookSender({ secret: 's', timeoutMs: 2000, baseDelayMs: 30, maxDelayMs: 60, maxAttempts, allowPrivate: true });
  senders.push(s);
  return s;
}

async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('webhook outbox', () => {
  it('keeps a delivery cancelled by a shutdown, with its attempts, and the next process delivers it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-outbox-'));
    const first = sender(100);
    const outbox = createWebhookOutbox({ dir, sender: first });
    await outbox.add('job-7', `${receiver.url}/hook`, payload);
    await until('two failed attempts recorded', async () => {
      const file = await readFile(join(dir, 'job-7.json'), 'utf8').catch(() => '{}');
      return (JSON.parse(file) as { attempts?: number }).attempts! >= 2;
    });
    await first.close(); // the process stops
    await outbox.idle();
    expect(await readdir(dir)).toEqual(['job-7.json']);
    const made = (JSON.parse(await readFile(join(dir, 'job-7.json'), 'utf8')) as { attempts: number }).attempts;

    up = true;
    const before = received;
    const next = createWebhookOutbox({ dir, sender: sender(100) });
    expect(await next.resume()).toBe(1);
    await next.idle();
    expect(received).toBe(before + 1);
    expect(await readdir(dir)).toEqual([]);
    expect(made).toBeGreaterThanOrEqual(2);
  });

  it('gives up after the attempts in all, across processes, and forgets the delivery', async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-outbox-'));
    const first = sender(3);
    const outbox = createWebhookOutbox({ dir, sender: first });
    await outbox.add('job-8', `${receiver.url}/hook`, { ...payload, id: 'job-8' });
    await until('one failed attempt recorded', async () => {
      const file = await readFile(join(dir, 'job-8.json'), 'utf8').catch(() => '{}');
      return (JSON.parse(file) as { attempts?: number }).attempts! >= 1;
    });
    await first.close();
    await outbox.idle();
    const made = (JSON.parse(await readFile(join(dir, 'job-8.json'), 'utf8')) as { attempts: number }).attempts;
    const before = received;
    const next = createWebhookOutbox({ dir, sender: sender(3) });
    await next.resume();
    await next.idle();
    // Only the attempts left were made, then the delivery was dropped.
    expect(received - before).toBe(3 - made);
    expect(await readdir(dir)).toEqual([]);
  });

  it('delivers at once and leaves nothing behind when the receiver is up', async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-outbox-'));
    up = true;
    const outbox = createWebhookOutbox({ dir, sender: sender(5) });
    await outbox.add('job-9', `${receiver.url}/hook`, { ...payload, id: 'job-9' });
    await outbox.idle();
    expect(received).toBe(1);
    expect(await readdir(dir)).toEqual([]);
    await expect(outbox.add('../escape', `${receiver.url}/hook`, payload)).rejects.toThrow(/unsafe job id/);
  });
});
