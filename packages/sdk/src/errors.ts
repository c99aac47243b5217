/** Errors thrown by the client. Each has a stable `code`. */

/**
 * The server answered `{ status: "error" }`, an HTTP error, or something that is not a valid
 * response (`code` `E_BAD_RESPONSE`, message starting with `bad response`), or the server could not
 * be reached (`code` `E_NETWORK`, `status` 0).
 */
export class SuperresApiError extends Error {
  override readonly name = 'SuperresApiError';
  readonly code: 'E_API' | 'E_BAD_RESPONSE' | 'E_NETWORK';
  /**
   * The HTTP status (0 when no answer came). A failed job (answered with HTTP 200 by `fetch`)
   * has its error's status, from the body's `http_status`.
   */
  readonly status: number;
  /** Seconds to wait before retrying (from `retry_after` in the body, or the `Retry-After` header). */
  readonly retryAfter: number | undefined;
  /** The parsed body (or the raw text when it was not JSON). */
  readonly body: unknown;

  constructor(
    message: string,
    init: { status: number; code?: SuperresApiError['code']; retryAfter?: number | undefined; body?: unknown; cause?: unknown },
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code ?? 'E_API';
    this.retryAfter = init.retryAfter;
    this.body = init.body;
  }
}

/** `superResolution()` (or any call with `timeoutMs`) ran past its timeout. `name` is `TimeoutError`, as `AbortSignal.timeout()` uses. */
export class SuperresTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'E_TIMEOUT';
  readonly timeoutMs: number;
  /** The job id, when the job had been accepted (it may still finish: `fetch(id)` later). */
  readonly id: string | number | undefined;

  constructor(timeoutMs: number, id?: string | number) {
    super(`superres: no result within ${timeoutMs} ms${id === undefined ? '' : ` (job ${id})`}`);
    this.timeoutMs = timeoutMs;
    this.id = id;
  }
}

/** A request the client refused to send: its arguments do not match the schema. */
export class SuperresValidationError extends Error {
  override readonly name = 'SuperresValidationError';
  readonly code = 'E_VALIDATION';
  readonly issues: readonly { path: readonly PropertyKey[]; message: string }[];

  constructor(message: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]) {
    super(message);
    this.issues = issues;
  }
}
