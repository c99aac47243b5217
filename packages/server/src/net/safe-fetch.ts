/**
 * Fetching URLs that clients hand us (input images, webhook targets) without letting them reach
 * the server's own network (SSRF).
 *
 * Built on node:http/node:https rather than the global fetch so that DNS is ours: the host is
 * resolved once, every address is checked, and the socket connects to exactly the checked
 * addresses (a custom `lookup`), so a DNS answer that changes between the check and the connect
 * (rebinding) changes nothing. Host header and TLS SNI/certificate checks keep the hostname.
 * Redirects are followed by hand, and scheme, credentials and addresses are checked again on
 * every hop. One deadline covers the whole exchange (DNS, every hop, the body); the byte limit is
 * enforced from Content-Length when present and while streaming in any case.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import {
  AbortedError,
  BadImageError,
  DownloadError,
  ImageTooLargeError,
  InvalidOptionError,
  SuperresError,
} from '@superres/core';
import type { FetchLimits } from '../contracts.js';
import { isAlwaysRefusedAddress, isPrivateAddress } from './address-policy.js';
import { UrlRefusedError } from './errors.js';

export { UrlRefusedError } from './errors.js';

export interface SafeFetchOptions extends FetchLimits {
  /** Accept header; default: any type. */
  accept?: string;
  /** Default GET. */
  method?: 'GET' | 'POST';
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * When true, a body over `maxBytes` is cut at `maxBytes` instead of failing (for callers that
   * only need the status, such as webhook delivery). Default false.
   */
  truncateBody?: boolean;
}

export interface SafeResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL that answered, after redirects. */
  finalUrl: string;
}

export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that must not travel to another origin on a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** The URL as it may appear in messages and logs: no query string, no fragment, no credentials. */
export function redactUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

/** Checks what can be checked without DNS: an absolute http(s) URL with no credentials. */
export function checkUrlShape(input: string | URL): URL {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch (cause) {
    throw new InvalidOptionError(`url: expected an absolute http or https URL, received ${JSON.stringify(String(input).slice(0, 200))}`, {
      cause,
      details: { option: 'url' },
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UrlRefusedError(`URL refused: only http and https are allowed, received ${url.protocol.replace(/:$/, '')}`, {
      details: { reason: 'scheme', scheme: url.protocol },
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new UrlRefusedError('URL refused: credentials in URLs are not allowed', { details: { reason: 'credentials' } });
  }
  if (url.hostname === '') {
    throw new UrlRefusedError('URL refused: no host', { details: { reason: 'host' } });
  }
  return url;
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** Rejects with the signal's reason when it fires first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}

/** Resolves the URL's host and checks every address. Returns the vetted addresses, in DNS order. */
async function vetHost(url: URL, allowPrivate: boolean, signal: AbortSignal): Promise<LookupAddress[]> {
  const host = unbracket(url.hostname);
  let addresses: LookupAddress[];
  const family = isIP(host);
  if (family !== 0) {
    addresses = [{ address: host, family }];
  } else {
    try {
      addresses = await raceAbort(dns.lookup(host, { all: true, verbatim: true }), signal);
    } catch (cause) {
      if (signal.aborted) throw signal.reason;
      throw new DownloadError(`Could not resolve host ${JSON.stringify(host)}`, { cause, details: { host } });
    }
    if (addresses.length === 0) throw new DownloadError(`Host ${JSON.stringify(host)} has no address`, { details: { host } });
  }
  for (const { address } of addresses) {
    const refused = isAlwaysRefusedAddress(address) || (!allowPrivate && isPrivateAddress(address));
    if (refused) {
      // A literal address is the client's own; what a name resolves to is not told (it would
      // map this server's internal DNS for whoever asks). The address stays in details, for logs.
      const what = family !== 0 ? `address ${address}` : `host ${JSON.stringify(host)} resolves to an address that`;
      throw new UrlRefusedError(`URL refused: ${what} is private, loopback, link-local or otherwise not reachable from this server`, {
        details: { reason: 'address', host, address },
      });
    }
  }
  return addresses;
}

/** A `lookup` that answers with the vetted addresses only, whatever DNS says now. */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    const list = wanted.length > 0 ? wanted : addresses;
    if (options.all) callback(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  };
}

interface Exchange {
  status: number;
  headers: Record<string, string>;
  /** Undefined for redirects (the body is not read). */
  body?: Uint8Array;
}

function flattenHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function tooLarge(url: URL, maxBytes: number, received?: number): ImageTooLargeError {
  const size = received === undefined ? 'more than' : `${received} bytes, over`;
  return new ImageTooLargeError(`The response from ${redactUrl(url)} is too large: ${size} the limit of ${maxBytes} bytes`, {
    details: { maxBytes, ...(received === undefined ? {} : { contentLength: received }) },
  });
}

function exchange(
  url: URL,
  addresses: LookupAddress[],
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Uint8Array | string },
  limits: { maxBytes: number; truncateBody: boolean },
  signal: AbortSignal,
): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value?: Exchange): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        req.destroy();
        reject(error as Error);
      } else {
        resolve(value!);
      }
    };
    const wrap = (cause: unknown): unknown => {
      if (signal.aborted) return signal.reason;
      if (cause instanceof SuperresError) return cause;
      const message = cause instanceof Error ? cause.message : String(cause);
      return new DownloadError(`Could not fetch ${redactUrl(url)}: ${message}`, { cause });
    };
    const onAbort = (): void => finish(signal.reason);

    const headers: Record<string, string> = { ...init.headers, host: url.host };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request({
      protocol: url.protocol,
      hostname: unbracket(url.hostname),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: init.method,
      headers,
      lookup: pinnedLookup(addresses),
      // A fresh connection per exchange: no pooled socket outlives the check that vetted it.
      agent: false,
    });
    req.on('error', (error) => finish(wrap(error)));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const resHeaders = flattenHeaders(res.headers);
      if (REDIRECT_STATUSES.has(status) && resHeaders.location !== undefined) {
        res.resume();
        finish(undefined, { status, headers: resHeaders });
        return;
      }
      const { maxBytes, truncateBody } = limits;
      const declared = resHeaders['content-length'] === undefined ? NaN : Number(resHeaders['content-length']);
      if (!truncateBody && Number.isFinite(declared) && declared > maxBytes) {
        finish(tooLarge(url, maxBytes, declared));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (total + chunk.length > maxBytes) {
          if (!truncateBody) {
            finish(tooLarge(url, maxBytes));
            return;
          }
          chunks.push(chunk.subarray(0, maxBytes - total));
          total = maxBytes;
          finish(undefined, { status, headers: resHeaders, body: concat(chunks, total) });
          res.destroy();
          return;
        }
        chunks.push(chunk);
        total += chunk.length;
      });
      res.on('end', () => finish(undefined, { status, headers: resHeaders, body: concat(chunks, total) }));
      res.on('error', (error) => finish(wrap(error)));
      res.on('close', () => {
        if (!res.complete) finish(wrap(new Error('the connection closed before the body was complete')));
      });
    });
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.end(init.body);
  });
}

function concat(chunks: Buffer[], total: number): Uint8Array {
  const out = Buffer.concat(chunks, total);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function checkLimits(options: SafeFetchOptions): number {
  const { maxBytes, timeoutMs } = options;
  if (!(Number.isFinite(maxBytes) && maxBytes >= 0)) {
    throw new InvalidOptionError(`maxBytes: expected a non-negative number, received ${String(maxBytes)}`, { details: { option: 'maxBytes' } });
  }
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new InvalidOptionError(`timeoutMs: expected a positive number, received ${String(timeoutMs)}`, { details: { option: 'timeoutMs' } });
  }
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!(Number.isInteger(maxRedirects) && maxRedirects >= 0)) {
    throw new InvalidOptionError(`maxRedirects: expected a non-negative integer, received ${String(maxRedirects)}`, {
      details: { option: 'maxRedirects' },
    });
  }
  return maxRedirects;
}

/**
 * Fetches `url` under the SSRF guard and the given limits.
 *
 * Throws UrlRefusedError (E_URL_REFUSED) for a refused scheme, credentials or address (on any
 * hop); InvalidOptionError for a malformed URL or limits; ImageTooLargeError (E_IMAGE_TOO_LARGE)
 * past `maxBytes` (unless `truncateBody`); DownloadError (E_DOWNLOAD) for DNS and network
 * failures, the deadline, too many redirects, and (GET only) a non-2xx status, with
 * `details.status`; AbortedError when `signal` fires. POST answers of any status are returned.
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<SafeResponse> {
  const maxRedirects = checkLimits(options);
  const { timeoutMs, allowPrivate, signal: userSignal } = options;
  if (userSignal?.aborted) throw new AbortedError(undefined, { cause: userSignal.reason });

  let current = checkUrlShape(url);
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new DownloadError(`Fetching ${redactUrl(current)} timed out after ${timeoutMs} ms`, { details: { timeout: true, timeoutMs } }),
    );
  }, timeoutMs);
  const onUserAbort = (): void => controller.abort(new AbortedError(undefined, { cause: userSignal?.reason }));
  userSignal?.addEventListener('abort', onUserAbort, { once: true });

  let method = options.method ?? 'GET';
  let body = options.body;
  let headers: Record<string, string> = {
    'user-agent': 'superres',
    accept: options.accept ?? '*/*',
    'accept-encoding': 'identity',
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;

  try {
    for (let hop = 0; ; hop++) {
      const addresses = await vetHost(current, allowPrivate, controller.signal);
      const answer = await exchange(
        current,
        addresses,
        { method, headers, ...(body === undefined ? {} : { body }) },
        { maxBytes: options.maxBytes, truncateBody: options.truncateBody ?? false },
        controller.signal,
      );

      if (answer.body === undefined) {
        // A redirect with a Location.
        if (hop >= maxRedirects) {
          throw new DownloadError(`Too many redirects fetching ${redactUrl(url)} (more than ${maxRedirects})`, {
            details: { maxRedirects },
          });
        }
        let next: URL;
        try {
          next = new URL(answer.headers.location!, current);
        } catch (cause) {
          throw new DownloadError(`Invalid redirect from ${redactUrl(current)}`, { cause, details: { status: answer.status } });
        }
        next = checkUrlShape(next);
        if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          const { 'content-type': _type, ...rest } = headers;
          headers = rest;
        }
        if (next.origin !== current.origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.includes(name)));
        }
        current = next;
        continue;
      }

      if (method === 'GET' && (answer.status < 200 || answer.status > 299)) {
        throw new DownloadError(`Fetching ${redactUrl(current)} failed: the server answered HTTP ${answer.status}`, {
          details: { status: answer.status },
        });
      }
      return { status: answer.status, headers: answer.headers, body: answer.body, finalUrl: current.href };
    }
  } catch (error) {
    // Whatever failed while the deadline or the caller's signal fired, that is the story to tell.
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
    userSignal?.removeEventListener('abort', onUserAbort);
  }
}

const AVIF_HEIF_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/**
 * The image format the bytes start like (`png`, `jpeg`, `webp`, `gif`, `tiff`, `bmp`, `avif`,
 * `heif`), or undefined. A sniff, not a validation: the decoder has the last word.
 */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const at = (i: number): number => bytes[i] ?? -1;
  if (at(0) === 0x89 && ascii(bytes, 1, 8) === 'PNG\r\n\x1a\n') return 'png';
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  const tiff = ascii(bytes, 0, 4);
  if (tiff === 'II*\0' || tiff === 'MM\0*' || tiff === 'II+\0' || tiff === 'MM\0+') return 'tiff';
  if (ascii(bytes, 0, 2) === 'BM' && bytes.length >= 26) return 'bmp';
  if (ascii(bytes, 4, 8) === 'ftyp') {
    const boxSize = ((at(0) << 24) | (at(1) << 16) | (at(2) << 8) | at(3)) >>> 0;
    const end = Math.min(bytes.length, boxSize >= 16 ? boxSize : 16);
    // Major brand at 8, minor version at 12, compatible brands from 16.
    let found: string | undefined;
    for (let i = 8; i + 4 <= end; i += i === 8 ? 8 : 4) {
      const brand = ascii(bytes, i, i + 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
      if (AVIF_HEIF_BRANDS.has(brand)) found = 'heif';
    }
    if (found) return found;
  }
  return undefined;
}

/**
 * GETs an image under the guard (`safeFetch`, with `accept: image/*`) and checks that the body
 * starts like one; throws BadImageError('URL did not return an image') otherwise. Returns the bytes.
 */
export async function fetchImageBytes(url: string, limits: FetchLimits & { signal?: AbortSignal }): Promise<Uint8Array> {
  const response = await safeFetch(url, {
    ...limits,
    method: 'GET',
    accept: 'image/png,image/jpeg,image/webp,image/avif,image/*;q=0.8,*/*;q=0.5',
  });
  if (sniffImageType(response.body) === undefined) {
    throw new BadImageError('URL did not return an image', {
      details: { url: redactUrl(response.finalUrl), contentType: response.headers['content-type'], bytes: response.body.length },
    });
  }
  return response.body;
}
