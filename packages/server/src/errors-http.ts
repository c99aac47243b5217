/**
 * The one place that maps error codes to HTTP answers. Unknown errors become 500 with a generic
 * message: internals (stacks, paths, driver messages) never reach the client.
 */
import { isSuperresError, type ErrorCode } from '@superres/core';
import { ServerError, type ServerErrorCode } from './errors.js';

/** Every code an answer can carry: the library's, the server's own, and E_INTERNAL. */
export type HttpErrorCode = ErrorCode | ServerErrorCode | 'E_INTERNAL';

/** Typed against every code: a new code without a status does not compile (instead of becoming 500). */
export const HTTP_STATUS_BY_CODE: Readonly<Record<HttpErrorCode, number>> = {
  E_INVALID_OPTION: 400,
  E_INVALID_REQUEST: 400,
  E_URL_REFUSED: 400,
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_MODEL_NOT_FOUND: 404,
  E_CHECKSUM: 409,
  E_DUPLICATE_MODEL: 409,
  E_IMAGE_TOO_LARGE: 413,
  E_TOO_LARGE: 413,
  E_BAD_IMAGE: 422,
  E_BAD_CHECKPOINT: 422,
  E_UNSAFE_CHECKPOINT: 422,
  E_UNSUPPORTED_ARCH: 422,
  E_RATE_LIMITED: 429,
  E_ABORTED: 503,
  E_SERVICE_UNAVAILABLE: 503,
  E_UNAVAILABLE: 501,
  E_DOWNLOAD: 502,
  E_BACKEND: 500,
  E_INTERNAL: 500,
  E_STORAGE: 500,
};

export interface ErrorBody {
  status: 'error';
  message: string;
  code?: string;
  retry_after?: number;
  id?: string;
  /** A failed job's error as an HTTP status (fetch answers such a job with 200). */
  http_status?: number;
}

const isHttpErrorCode = (code: unknown): code is HttpErrorCode => typeof code === 'string' && Object.hasOwn(HTTP_STATUS_BY_CODE, code);

/**
 * A known error's code, or undefined. Duck-typed beyond the classes: an error may come from
 * another copy of @superres/core (source vs dist) or cross a process boundary as data.
 */
export function errorCodeOf(error: unknown): HttpErrorCode | undefined {
  if ((isSuperresError(error) || error instanceof ServerError) && isHttpErrorCode(error.code)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return isHttpErrorCode(code) ? code : undefined;
}

export function statusForCode(code: string | undefined): number {
  return isHttpErrorCode(code) ? HTTP_STATUS_BY_CODE[code] : 500;
}

/** The HTTP status and body for any thrown value. */
export function errorToHttp(error: unknown): { statusCode: number; body: ErrorBody } {
  const code = errorCodeOf(error);
  if (code === undefined) {
    return { statusCode: 500, body: { status: 'error', message: 'Internal server error' } };
  }
  const statusCode = statusForCode(code);
  const message = statusCode === 500 ? 'Internal server error' : (error as Error).message;
  const body: ErrorBody = { status: 'error', message, code };
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
  if (typeof retryAfter === 'number') body.retry_after = retryAfter;
  return { statusCode, body };
}

/** Message and code kept in a job record for a failed job (what the client is told). */
export function jobErrorOf(error: unknown): { error: string; errorCode: string } {
  const { body } = errorToHttp(error);
  return { error: body.message, errorCode: body.code ?? 'E_INTERNAL' };
}
