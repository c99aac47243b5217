import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { AbortedError, ChecksumError, DownloadError, InvalidOptionError, SuperresError, throwIfAborted } from '@superres/core';

export { DownloadError };

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface DownloadOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Longest wait for the response headers, and for each next chunk of the body. */
  timeoutMs?: number;
  /** Stop as soon as more bytes than this arrive (a known file size). */
  maxBytes?: number;
  onProgress?(bytes: number, total: number | undefined): void;
}

export interface Downloaded {
  sha256: string;
  bytes: number;
}

/** Throws InvalidOptionError unless the URL is http(s). */
export function checkHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidOptionError(`Download URL is not a valid URL: ${JSON.stringify(url)}`, { cause, details: { option: 'url' } });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidOptionError(`Download URL must be http or https, got ${JSON.stringify(url)}`, { details: { option: 'url' } });
  }
  return parsed;
}

/**
 * Streams `url` into a new file at `dest` (created exclusively), hashing while it streams.
 * Redirects are followed (GitHub release assets redirect to a CDN). On any failure `dest` is
 * deleted before the error propagates.
 */
export async function downloadTo(url: string, dest: string, options: DownloadOptions = {}): Promise<Downloaded> {
  checkHttpUrl(url);
  throwIfAborted(options.signal);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  arm();
  try {
    return await stream(url, dest, controller.signal, arm, options);
  } catch (error) {
    await rm(dest, { force: true });
    if (options.signal?.aborted) throw new AbortedError(`Download of ${url} was aborted`, { cause: options.signal.reason });
    if (timedOut) {
      throw new DownloadError(`Download of ${url} timed out: nothing received for ${timeoutMs} ms`, { cause: error, details: { url } });
    }
    if (error instanceof SuperresError) throw error;
    throw new DownloadError(`Download of ${url} failed: ${describe(error)}`, { cause: error, details: { url } });
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

async function stream(
  url: string,
  dest: string,
  signal: AbortSignal,
  rearm: () => void,
  options: DownloadOptions,
): Promise<Downloaded> {
  const response = await (options.fetch ?? fetch)(url, { redirect: 'follow', signal });
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    throw new DownloadError(
      `Download of ${url} failed: the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
      { details: { url, status: response.status } },
    );
  }
  // With a content encoding, Content-Length counts the compressed bytes, not the file's.
  const length = response.headers.get('content-encoding') ? NaN : Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? length : undefined;
  if (options.maxBytes !== undefined && total !== undefined && total > options.maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw tooLarge(url, total, options.maxBytes);
  }
  const hash = createHash('sha256');
  const file = await open(dest, 'wx');
  let bytes = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      rearm();
      bytes += chunk.byteLength;
      if (options.maxBytes !== undefined && bytes > options.maxBytes) throw tooLarge(url, bytes, options.maxBytes);
      hash.update(chunk);
      await file.write(chunk);
      options.onProgress?.(bytes, total);
    }
    if (total !== undefined && bytes !== total) {
      throw new DownloadError(`Download of ${url} ended after ${bytes} of ${total} bytes`, { details: { url } });
    }
    // On disk before the caller renames it into place: a crash must not leave a renamed stub.
    await file.sync();
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

function tooLarge(url: string, bytes: number, max: number): ChecksumError {
  return new ChecksumError(`Download of ${url} is larger than the expected ${max} bytes (${bytes} bytes): refusing it`, {
    details: { url, expectedBytes: max },
  });
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // undici reports "fetch failed" and keeps the real reason (ECONNREFUSED, ...) in `cause`.
  const cause = (error as { cause?: { message?: string; code?: string } } | null)?.cause;
  const detail = cause?.code ?? cause?.message;
  return detail && detail !== message ? `${message} (${detail})` : message;
}
