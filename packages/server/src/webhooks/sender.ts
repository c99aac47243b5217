/**
 * Webhook delivery: POSTs a finished job's payload as JSON, signed with HMAC-SHA256, under the
 * same SSRF guard as input URLs, retrying with exponential backoff and jitter.
 *
 * Signature header (the scheme the SDK's `verifyWebhook` checks):
 *   x-superres-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * Each attempt is signed afresh (a new `t`), so receivers can reject stale timestamps.
 *
 * Retried: network errors, timeouts, 429 and 5xx. Not retried: other statuses (a 4xx, or a
 * redirect that could not be followed), a refused URL, an invalid URL. `send` never throws: it
 * reports what happened.
 */
import { createHmac } from 'node:crypto';
import { AbortedError, InvalidOptionError, SuperresError } from '@superres/core';
import type { WebhookPayload } from '../contracts.js';
import { UrlRefusedError } from '../net/errors.js';
import { redactUrl, safeFetch } from '../net/safe-fetch.js';

export const SIGNATURE_HEADER = 'x-superres-signature';

/** pino/Fastify-compatible subset. */
export interface WebhookLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
}

export interface WebhookSenderOptions {
  /** HMAC key for the signature header. */
  secret: string;
  /** Per attempt (DNS, connect, request, response). */
  timeoutMs: number;
  /** Attempts in all, the first included. Default 5. */
  maxAttempts?: number;
  /** Delay before the second attempt; doubles each time, with jitter. Default 1000. */
  baseDelayMs?: number;
  /** Ceiling for one delay (also caps Retry-After). Default 60000. */
  maxDelayMs?: number;
  /** Allow private, loopback and link-local targets (SUPERRES_ALLOW_PRIVATE_URLS). */
  allowPrivate: boolean;
  logger?: WebhookLogger;
}

export interface WebhookDelivery {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last answer, when there was one. */
  lastStatus?: number;
  /** Why the last attempt failed (error message or `HTTP <status>`), when not delivered. */
  lastError?: string;
  /** The sender closed before the delivery was done: it may be resumed later (the outbox does). */
  cancelled?: boolean;
}

export interface SendOptions {
  /** Attempts already made (by an earlier process): this send goes on from there. */
  attemptsMade?: number;
  /** Told after each failed attempt that will be retried (the outbox records it). */
  onRetry?: (attempts: number) => Promise<void> | void;
}

export interface WebhookSender {
  send(url: string, payload: WebhookPayload, options?: SendOptions): Promise<WebhookDelivery>;
  /** Cancels pending retries (no new attempt starts); resolves once every `send` has returned. */
  close(): Promise<void>;
}

/** `t=<t>,v1=<hex>` for `body` signed at unix time `t` (seconds). */
export function signWebhookBody(secret: string, body: string, t: number): string {
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Response bodies are not used; read at most this much of one. */
const MAX_RESPONSE_BYTES = 64 * 1024;

function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** Retry-After in ms (seconds or an HTTP date), when present and sane. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function positive(name: string, value: number, integer: boolean): void {
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isInteger(value))) {
    throw new InvalidOptionError(`${name}: expected a non-negative ${integer ? 'integer' : 'number'}, received ${String(value)}`, {
      details: { option: name },
    });
  }
}

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const { secret, timeoutMs, allowPrivate, logger } = options;
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new InvalidOptionError('secret: expected a non-empty string', { details: { option: 'secret' } });
  }
  positive('maxAttempts', maxAttempts, true);
  if (maxAttempts < 1) throw new InvalidOptionError(`maxAttempts: expected at least 1, received ${maxAttempts}`);
  positive('baseDelayMs', baseDelayMs, false);
  positive('maxDelayMs', maxDelayMs, false);
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new InvalidOptionError(`timeoutMs: expected a positive number, received ${String(timeoutMs)}`, { details: { option: 'timeoutMs' } });
  }

  const closing = new AbortController();
  const pending = new Set<Promise<WebhookDelivery>>();

  /** Waits `ms`, or less when the sender closes; resolves false when closed. */
  const sleep = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (closing.signal.aborted) return resolve(false);
      const onClose = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        closing.signal.removeEventListener('abort', onClose);
        resolve(true);
      }, ms);
      closing.signal.addEventListener('abort', onClose, { once: true });
    });

  const backoff = (attempt: number, retryAfter: number | undefined): number => {
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    // "Equal jitter": half fixed, half random, so retries from many jobs spread out.
    const jittered = exponential / 2 + Math.random() * (exponential / 2);
    return Math.min(maxDelayMs, Math.max(jittered, retryAfter ?? 0));
  };

  async function deliver(url: string, payload: WebhookPayload, sendOptions: SendOptions): Promise<WebhookDelivery> {
    const body = JSON.stringify(payload);
    const where = redactUrl(url);
    const made = Math.max(0, sendOptions.attemptsMade ?? 0);
    const result: WebhookDelivery = { delivered: false, attempts: made };
    if (made >= maxAttempts) return { ...result, lastError: `gave up after ${made} attempts` };
    for (let attempt = made + 1; attempt <= maxAttempts; attempt++) {
      if (closing.signal.aborted) break;
      result.attempts = attempt;
      let retry = false;
      let retryAfter: number | undefined;
      try {
        const t = Math.floor(Date.now() / 1000);
        const response = await safeFetch(url, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhookBody(secret, body, t) },
          timeoutMs,
          maxBytes: MAX_RESPONSE_BYTES,
          truncateBody: true,
          allowPrivate,
        });
        result.lastStatus = response.status;
        if (response.status >= 200 && response.status <= 299) {
          result.delivered = true;
          delete result.lastError;
          logger?.info({ webhook: where, jobId: payload.id, attempt, status: response.status }, 'webhook delivered');
          return result;
        }
        result.lastError = `HTTP ${response.status}`;
        retry = retryableStatus(response.status);
        retryAfter = retryAfterMs(response.headers['retry-after']);
      } catch (error) {
        result.lastError = error instanceof Error ? error.message : String(error);
        delete result.lastStatus;
        const final =
          error instanceof UrlRefusedError ||
          error instanceof InvalidOptionError ||
          error instanceof AbortedError ||
          (error instanceof SuperresError && (error.code as string) === 'E_URL_REFUSED');
        retry = !final;
      }
      if (!retry || attempt === maxAttempts) {
        logger?.warn(
          { webhook: where, jobId: payload.id, attempt, status: result.lastStatus, error: result.lastError, retrying: false },
          'webhook not delivered',
        );
        return result;
      }
      const delay = backoff(attempt, retryAfter);
      try {
        await sendOptions.onRetry?.(attempt);
      } catch {
        // Recording the attempt is best effort: the delivery goes on either way.
      }
      logger?.warn(
        { webhook: where, jobId: payload.id, attempt, status: result.lastStatus, error: result.lastError, retrying: true, delayMs: Math.round(delay) },
        'webhook attempt failed',
      );
      if (!(await sleep(delay))) break;
    }
    result.lastError ??= 'the webhook sender is closed';
    result.cancelled = true;
    logger?.warn({ webhook: where, jobId: payload.id, attempts: result.attempts, error: result.lastError }, 'webhook retries cancelled');
    return result;
  }

  return {
    send(url, payload, sendOptions = {}) {
      const promise = deliver(url, payload, sendOptions).finally(() => pending.delete(promise));
      pending.add(promise);
      return promise;
    },
    async close() {
      closing.abort();
      await Promise.allSettled([...pending]);
    },
  };
}
