/**
 * Webhook signatures (Stripe-like, so a captured request cannot be replayed later).
 *
 * The server sends each webhook as `POST <webhook>` with a JSON body and the header
 *
 *     x-superres-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The receiver recomputes the HMAC over the exact bytes it received (before any JSON parsing),
 * compares in constant time and refuses timestamps more than `toleranceSeconds` away from now.
 * Several `v1=` entries may be present (secret rotation); one match is enough.
 *
 * WebCrypto only (`globalThis.crypto.subtle`): works in browsers and in Node 20.
 */

export const WEBHOOK_SIGNATURE_HEADER = 'x-superres-signature';
/** The default largest age (and clock skew) of a signature accepted by {@link verifyWebhook}. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

function toBytes(value: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return typeof value === 'string' ? encoder.encode(value) : new Uint8Array(value);
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

async function hmacSha256(secret: string | Uint8Array, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('superres webhook signatures need WebCrypto (globalThis.crypto.subtle)');
  const key = await subtle.importKey('raw', toBytes(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', key, message));
}

function signedMessage(timestampSeconds: number, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestampSeconds}.`);
  const bodyBytes = toBytes(body);
  const message = new Uint8Array(prefix.length + bodyBytes.length);
  message.set(prefix, 0);
  message.set(bodyBytes, prefix.length);
  return message;
}

/**
 * The value of the {@link WEBHOOK_SIGNATURE_HEADER} header for `body` (the exact bytes sent):
 * `t=<timestampSeconds>,v1=<hex>`. `timestampSeconds` defaults to now.
 */
export async function signWebhook(secret: string | Uint8Array, body: string | Uint8Array, timestampSeconds: number = Math.floor(Date.now() / 1000)): Promise<string> {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError(`timestampSeconds: expected a non-negative integer, received ${String(timestampSeconds)}`);
  }
  if (secret.length === 0) throw new TypeError('secret: must not be empty');
  const mac = await hmacSha256(secret, signedMessage(timestampSeconds, body));
  return `t=${timestampSeconds},v1=${toHex(mac)}`;
}

/** The parts of a signature header, or undefined if it is malformed. */
export function parseSignatureHeader(header: string): { timestamp: number; signatures: string[] } | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,15}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

/** Compares two strings of the same length without an early exit. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export interface VerifyWebhookOptions {
  secret: string | Uint8Array;
  /** The raw body as received, before JSON parsing. */
  body: string | Uint8Array;
  /** The {@link WEBHOOK_SIGNATURE_HEADER} header (Node gives `string | string[] | undefined`). */
  header: string | readonly string[] | null | undefined;
  /** Largest accepted distance between the signature's time and now. Default 300. */
  toleranceSeconds?: number;
  /** Now, in unix seconds (for tests). Default: the clock. */
  now?: number;
}

/**
 * True when `header` carries a valid signature of `body` with `secret`, made within
 * `toleranceSeconds` of `now`. Never throws for a bad header or body: answers false.
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<boolean> {
  const { secret, body, header, toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS } = options;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const headerText = typeof header === 'string' ? header : Array.isArray(header) ? header.join(',') : undefined;
  if (!headerText || secret.length === 0) return false;
  const parsed = parseSignatureHeader(headerText);
  if (!parsed) return false;
  if (Math.abs(now - parsed.timestamp) > toleranceSeconds) return false;
  const expected = toHex(await hmacSha256(secret, signedMessage(parsed.timestamp, body)));
  let ok = false;
  for (const signature of parsed.signatures) ok = constantTimeEqual(signature, expected) || ok;
  return ok;
}
