import { createHmac, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@superres/core';
import type { WebhookPayload } from '../contracts.js';
import { startServer, type TestServer } from '../net/test-support/server.js';
import { createWebhookSender, SIGNATURE_HEADER, signWebhookBody, type WebhookSender } from './sender.js';

const SECRET = 'whsec_test';
const payload: WebhookPayload = { status: 'success', id: 'job-1', output: 'http://example.test/outputs/x.png', generationTime: 1.5, track_id: 't-9' };

interface Received {
  path: string;
  method?: string;
  contentType?: string;
  body: string;
  signatureOk: boolean;
  t: number;
  at: number;
}

/** What the receiver does on the n-th request (1-based) to a path. */
type Script = (n: number, res: http.ServerResponse) => void;

let server: TestServer;
let received: Received[] = [];
const scripts: Record<string, Script> = {
  '/ok': (_n, res) => res.end('ok'),
  '/flaky': (n, res) => {
    res.statusCode = n <= 2 ? 503 : 200;
    res.end();
  },
  '/bad-request': (_n, res) => {
    res.statusCode = 400;
    res.end('no');
  },
  '/always-503': (_n, res) => {
    res.statusCode = 503;
    res.end();
  },
  '/429': (n, res) => {
    if (n === 1) res.writeHead(429, { 'retry-after': '0' });
    else res.statusCode = 204;
    res.end();
  },
  '/hang-once': (n, res) => {
    if (n > 1) res.end('ok');
    // The first request is never answered.
  },
  '/redirect-metadata': (_n, res) => {
    res.writeHead(307, { location: 'http://169.254.169.254/' });
    res.end();
  },
};

function verify(header: string | undefined, body: string): { ok: boolean; t: number } {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return { ok: false, t: 0 };
  const t = Number(match[1]);
  const expected = createHmac('sha256', SECRET).update(`${t}.${body}`).digest();
  const given = Buffer.from(match[2]!, 'hex');
  const fresh = Math.abs(Date.now() / 1000 - t) < 300;
  return { ok: fresh && given.length === expected.length && timingSafeEqual(given, expected), t };
}

beforeAll(async () => {
  server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? '/';
      const { ok, t } = verify(req.headers[SIGNATURE_HEADER] as string | undefined, body);
      received.push({ path, method: req.method, contentType: req.headers['content-type'], body, signatureOk: ok, t, at: Date.now() });
      const n = received.filter((r) => r.path === path).length;
      const script = scripts[path];
      if (script) script(n, res);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
});
afterAll(async () => {
  await server.close();
});

const senders: WebhookSender[] = [];
afterEach(async () => {
  received = [];
  await Promise.all(senders.splice(0).map((s) => s.close()));
});

function sender(options: Partial<Parameters<typeof createWebhookSender>[0]> = {}): WebhookSender {
  const logs: unknown[] = [];
  const s = createWebhookSender({
    secret: SECRET,
    timeoutMs: 2000,
    baseDelayMs: 20,
    allowPrivate: true,
    logger: { info: (o) => logs.push(o), warn: (o) => logs.push(o) },
    ...options,
  });
  senders.push(s);
  return s;
}

describe('webhook sender', () => {
  it('POSTs signed JSON', async () => {
    const result = await sender().send(`${server.url}/ok`, payload);
    expect(result).toEqual({ delivered: true, attempts: 1, lastStatus: 200 });
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r).toMatchObject({ method: 'POST', contentType: 'application/json', signatureOk: true });
    expect(JSON.parse(r!.body)).toEqual(payload);
  });

  it('retries 503 with backoff and delivers on the third attempt', async () => {
    const result = await sender({ baseDelayMs: 40 }).send(`${server.url}/flaky`, payload);
    expect(result).toEqual({ delivered: true, attempts: 3, lastStatus: 200 });
    expect(received.map((r) => r.signatureOk)).toEqual([true, true, true]);
    // Equal jitter: at least half of 40 ms, then at least half of 80 ms.
    expect(received[1]!.at - received[0]!.at).toBeGreaterThanOrEqual(19);
    expect(received[2]!.at - received[1]!.at).toBeGreaterThanOrEqual(39);
  });

  it('retries 429', async () => {
    const result = await sender().send(`${server.url}/429`, payload);
    expect(result).toEqual({ delivered: true, attempts: 2, lastStatus: 204 });
  });

  it('does not retry a 400', async () => {
    const result = await sender().send(`${server.url}/bad-request`, payload);
    expect(result).toMatchObject({ delivered: false, attempts: 1, lastStatus: 400, lastError: 'HTTP 400' });
    expect(received).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    const result = await sender({ maxAttempts: 3, baseDelayMs: 5 }).send(`${server.url}/always-503`, payload);
    expect(result).toMatchObject({ delivered: false, attempts: 3, lastStatus: 503 });
    expect(received).toHaveLength(3);
  });

  it('times out an attempt and retries', async () => {
    const started = Date.now();
    const result = await sender({ timeoutMs: 300 }).send(`${server.url}/hang-once`, payload);
    expect(result).toEqual({ delivered: true, attempts: 2, lastStatus: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('refuses a private URL without retrying', async () => {
    const result = await sender({ allowPrivate: false }).send(`${server.url}/ok`, payload);
    expect(result.delivered).toBe(false);
    expect(result.attempts).toBe(1);
    expect(result.lastError).toMatch(/refused/);
    expect(received).toHaveLength(0);
  });

  it('refuses a redirect to the metadata address without retrying', async () => {
    const result = await sender().send(`${server.url}/redirect-metadata`, payload);
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
    expect(result.lastError).toMatch(/refused/);
  });

  it('refuses other schemes without retrying', async () => {
    const result = await sender().send('file:///etc/passwd', payload);
    expect(result).toMatchObject({ delivered: false, attempts: 1 });
  });

  it('retries a refused connection', async () => {
    const gone = await startServer((_req, res) => res.end());
    await gone.close();
    const result = await sender({ maxAttempts: 2, baseDelayMs: 1 }).send(`${gone.url}/`, payload);
    expect(result).toMatchObject({ delivered: false, attempts: 2 });
    expect(result.lastStatus).toBeUndefined();
  });

  it('close() cancels pending retries', async () => {
    const s = sender({ baseDelayMs: 60_000 });
    const started = Date.now();
    const pending = s.send(`${server.url}/always-503`, payload);
    while (received.length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    const result = await pending;
    expect(result).toMatchObject({ delivered: false, attempts: 1, lastStatus: 503 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await s.send(`${server.url}/ok`, payload)).toMatchObject({ delivered: false, attempts: 0 });
    expect(received).toHaveLength(1);
  });

  it('validates its options', () => {
    expect(() => createWebhookSender({ secret: '', timeoutMs: 1000, allowPrivate: false })).toThrow(InvalidOptionError);
    expect(() => createWebhookSender({ secret: 's', timeoutMs: 0, allowPrivate: false })).toThrow(InvalidOptionError);
    expect(() => createWebhookSender({ secret: 's', timeoutMs: 1000, maxAttempts: 0, allowPrivate: false })).toThrow(InvalidOptionError);
  });

  it('signs as t=<seconds>,v1=<hex hmac of "t.body">', () => {
    const expected = createHmac('sha256', 'k').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhookBody('k', '{"a":1}', 1700000000)).toBe(`t=1700000000,v1=${expected}`);
  });
});
