/** Errors the server raises itself (beyond @superres/core's); each has a stable code. */
export type ServerErrorCode =
  | 'E_UNAUTHORIZED'
  | 'E_FORBIDDEN'
  | 'E_NOT_FOUND'
  | 'E_RATE_LIMITED'
  | 'E_TOO_LARGE'
  | 'E_SERVICE_UNAVAILABLE'
  | 'E_INVALID_REQUEST';

/** Names are string literals, not `new.target.name`: a minified bundle renames classes. */
export class ServerError extends Error {
  readonly code: ServerErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ServerErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerError';
    this.code = code;
    this.details = details;
  }
}

/** `retryAfter` (seconds) goes into the answer's body as `retry_after` (errorToHttp reads it). */
export class RateLimitedError extends ServerError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super('E_RATE_LIMITED', message, { retry_after: retryAfter });
    this.name = 'RateLimitedError';
  }
}

/**
 * The server cannot take the request right now (a job store that cannot be written: a full or
 * read-only disk, Redis away): HTTP 503 with `retry_after` (seconds) in the body, like a 429.
 */
export class ServiceUnavailableError extends ServerError {
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super('E_SERVICE_UNAVAILABLE', message, { retry_after: retryAfter });
    this.name = 'ServiceUnavailableError';
  }
}
