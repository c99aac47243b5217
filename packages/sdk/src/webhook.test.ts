import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSignatureHeader, signWebhook, verifyWebhook, WEBHOOK_SIGNATURE_HEADER } from './webhook.js';

const secret = 'whsec_test_secret';
const body = JSON.stringify({ status: 'success', id: 'j1', output: 'https://x.test/o.png', generationTime: 1.5, track_id: 't' });
const t = 1_700_000_000;

describe('webhook signatures', () => {
  it('signs as t=<seconds>,v1=<hex hmac of "<t>.<body>">', async () => {
    const header = await signWebhook(secret, body, t);
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${expected}`);
    expect(WEBHOOK_SIGNATURE_HEADER).toBe('x-superres-signature');
    expect(parseSignatureHeader(header)).toEqual({ timestamp: t, signatures: [expected] });
  });

  it('round-trips, with string or byte bodies and secrets', async () => {
    const header = await signWebhook(secret, body, t);
    expect(await verifyWebhook({ secret, body, header, now: t + 10 })).toBe(true);
    expect(await verifyWebhook({ secret: new TextEncoder().encode(secret), body: new TextEncoder().encode(body), header, now: t })).toBe(true);
    expect(await verifyWebhook({ secret, body, header: [header], now: t })).toBe(true);
  });

  it('refuses a tampered body, a wrong secret, an old or future timestamp, a bad header', async () => {
    const header = await signWebhook(secret, body, t);
    expect(await verifyWebhook({ secret, body: body.replace('j1', 'j2'), header, now: t })).toBe(false);
    expect(await verifyWebhook({ secret: 'other', body, header, now: t })).toBe(false);
    expect(await verifyWebhook({ secret, body, header, now: t + 301 })).toBe(false);
    expect(await verifyWebhook({ secret, body, header, now: t + 301, toleranceSeconds: 600 })).toBe(true);
    expect(await verifyWebhook({ secret, body, header, now: t - 301 })).toBe(false);
    // A replay with a fresh timestamp and the old signature fails.
    expect(await verifyWebhook({ secret, body, header: header.replace(`t=${t}`, `t=${t + 1000}`), now: t + 1000 })).toBe(false);
    for (const bad of [undefined, null, '', 'garbage', `t=${t}`, `v1=${'0'.repeat(64)}`, `t=${t},v1=zz`]) {
      expect(await verifyWebhook({ secret, body, header: bad, now: t })).toBe(false);
    }
    expect(await verifyWebhook({ secret: '', body, header, now: t })).toBe(false);
  });

  it('accepts any of several v1 signatures (secret rotation)', async () => {
    const header = await signWebhook(secret, body, t);
    const rotated = `t=${t},v1=${'0'.repeat(64)},${header.split(',')[1]}`;
    expect(await verifyWebhook({ secret, body, header: rotated, now: t })).toBe(true);
  });

  it('uses the clock by default', async () => {
    const header = await signWebhook(secret, body);
    expect(await verifyWebhook({ secret, body, header })).toBe(true);
    await expect(signWebhook(secret, body, -1)).rejects.toThrow(/timestampSeconds/);
  });
});
