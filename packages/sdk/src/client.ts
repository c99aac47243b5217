/**
 * The typed superres client. Fetch API only: runs in Node (>= 20.19) and in browsers. It imports no
 * schema library: requests are validated by the server (or before sending, with `validation`).
 * The API key travels in the JSON body, as the Stable Diffusion API expects.
 */
import { checkAnswer, errorAnswer, type AnswerKind } from './answer-shape.js';
import type { ClientValidation, RequestKind, ValidatedAnswerKind } from './client-validation.js';
import { SuperresApiError, SuperresTimeoutError } from './errors.js';
import { fetchPath, ROUTES } from './routes.js';
import type {
  ClearCacheResponse,
  DeleteModelResponse,
  LoadModelRequestInput,
  LoadModelResponse,
  ModelInfo,
  ProcessingResponse,
  SuccessResponse,
  SuperResolutionRequestInput,
  SystemDetailsResponse,
  UploadImageResponse,
  VerifyModelResponse,
} from './schemas.js';

export interface ClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** The API key, sent in each request body. */
  key: string;
  /** The key for management routes (`load_model`, ...). Default: `key`. */
  adminKey?: string;
  /** A fetch implementation. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /**
   * `schemaValidation` (exported by this package) validates each request before sending it
   * (SuperresValidationError, nothing sent) and every field of each answer, with the wire
   * schemas; it adds zod/mini (about 10 KB gzipped) to a bundle. Default: requests go as given
   * (the server validates them with the same schemas and answers 400 naming the field) and
   * answers are checked for the fields the client uses.
   */
  validation?: ClientValidation;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Give up after this many milliseconds (a {@link SuperresTimeoutError}). Default: no limit. */
  timeoutMs?: number;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up waiting for the result after this many milliseconds. Default 600000 (10 minutes). */
  timeoutMs?: number;
  /** Delay between two `fetch` polls. Default: the server's `eta`, clamped to 0.25-5 s. */
  pollIntervalMs?: number;
}

/** A `super_resolution` request; `key` defaults to the client's key. */
export type SuperResolutionParams = Omit<SuperResolutionRequestInput, 'key'> & { key?: string };
/** A `load_model` request; `key` defaults to the client's admin key. */
export type LoadModelParams = Omit<LoadModelRequestInput, 'key'> & { key?: string };

export interface SuperresClient {
  /** Submits and waits: polls `fetch/{id}` while the job is processing. Throws on error, abort or timeout. */
  superResolution(request: SuperResolutionParams, options?: WaitOptions): Promise<SuccessResponse>;
  /** Submits without waiting longer than the server does: `success` or `processing`. */
  submitSuperResolution(request: SuperResolutionParams, options?: RequestOptions): Promise<SuccessResponse | ProcessingResponse>;
  /** One `POST fetch/{id}`: `success` or `processing` (an `error` job throws). */
  fetch(id: string | number, options?: RequestOptions): Promise<SuccessResponse | ProcessingResponse>;
  /** Polls `fetch/{id}` until the job is done (after a timeout of `superResolution`, say). */
  waitFor(id: string | number, options?: WaitOptions): Promise<SuccessResponse>;
  /** Uploads an image (base64 text, a `data:` URL, or bytes) and answers its URL. */
  uploadImage(image: string | Uint8Array | ArrayBuffer, options?: RequestOptions): Promise<UploadImageResponse>;
  getAllModels(options?: RequestOptions): Promise<ModelInfo[]>;
  loadModel(request: LoadModelParams, options?: RequestOptions): Promise<LoadModelResponse>;
  verifyModel(modelId: string, options?: RequestOptions): Promise<VerifyModelResponse>;
  deleteModel(modelId: string, options?: RequestOptions): Promise<DeleteModelResponse>;
  /**
   * The weights file of a model installed on the server (`.pth`, `.safetensors` or `.onnx`, as
   * stored), to run it elsewhere (the browser demo converts it on the visitor's machine).
   * Catalog models: any key; imported models: an admin key (`key` in the options).
   */
  downloadModel(modelId: string, options?: RequestOptions & { key?: string }): Promise<Uint8Array>;
  systemDetails(options?: RequestOptions): Promise<SystemDetailsResponse>;
  clearCache(options?: RequestOptions): Promise<ClearCacheResponse>;
}

/** The default `timeoutMs` of `superResolution()` and `waitFor()`. */
export const DEFAULT_WAIT_TIMEOUT_MS = 600_000;


/** An AbortSignal joining the caller's signal and a timeout, and the error to throw once it fires. */
class Scope {
  readonly controller = new AbortController();
  private timedOut = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = (): void => this.controller.abort(this.outer?.reason);
  jobId: string | number | undefined;

  constructor(
    private readonly outer: AbortSignal | undefined,
    private readonly timeoutMs: number | undefined,
  ) {
    if (outer?.aborted) this.controller.abort(outer.reason);
    else outer?.addEventListener('abort', this.onAbort, { once: true });
    if (timeoutMs !== undefined && !this.controller.signal.aborted) {
      if (!(timeoutMs > 0)) throw new TypeError(`timeoutMs: expected a positive number, received ${String(timeoutMs)}`);
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller.abort(new SuperresTimeoutError(timeoutMs));
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error for an aborted scope: a timeout error, or the caller's abort reason. */
  abortError(): unknown {
    if (this.timedOut) return new SuperresTimeoutError(this.timeoutMs ?? 0, this.jobId);
    const reason: unknown = this.outer?.reason;
    return reason ?? new DOMException('This operation was aborted', 'AbortError');
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw this.abortError();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
  }
}

function sleep(ms: number, scope: Scope): Promise<void> {
  return new Promise((resolve, reject) => {
    if (scope.signal.aborted) return reject(scope.abortError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(scope.abortError());
    };
    const timer = setTimeout(() => {
      scope.signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    scope.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header.trim());
  if (header.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createClient(options: ClientOptions): SuperresClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new TypeError(`baseUrl: expected an http(s) URL, received ${JSON.stringify(options.baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`baseUrl: expected an http(s) URL, received ${JSON.stringify(options.baseUrl)}`);
  }
  if (typeof options.key !== 'string' || options.key === '') throw new TypeError('key: required');
  const baseUrl = base.href.replace(/\/+$/, '');
  const key = options.key;
  const adminKey = options.adminKey ?? options.key;
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const extraHeaders = options.headers ?? {};
  const { validation } = options;

  /** The body to send: as given, or validated and normalised by `validation`. */
  const prepare = <T>(kind: RequestKind, body: T): T => (validation ? (validation.request(kind, body) as T) : body);

  function checked(kind: ValidatedAnswerKind, answer: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
    if (validation) return validation.answer(kind, answer);
    return checkAnswer(kind === 'job' || kind === 'upload' || kind === 'models' ? (kind as AnswerKind) : 'success', answer);
  }

  /** Sends one POST; network failures become SuperresApiError (status 0). */
  async function send(path: string, body: unknown, scope: Scope, accept: string): Promise<Response> {
    scope.throwIfAborted();
    try {
      return await fetchImpl(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, ...extraHeaders },
        body: JSON.stringify(body),
        signal: scope.signal,
      });
    } catch (error) {
      if (scope.signal.aborted) throw scope.abortError();
      throw new SuperresApiError(`network error: ${errorMessage(error)}`, { status: 0, code: 'E_NETWORK', cause: error });
    }
  }

  async function readText(response: Response, scope: Scope): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      if (scope.signal.aborted) throw scope.abortError();
      throw new SuperresApiError(`network error: ${errorMessage(error)}`, { status: 0, code: 'E_NETWORK', cause: error });
    }
  }

  /** The error an answer carries: the API's error shape, or its HTTP status. Undefined for a success. */
  function errorOf(response: Response, text: string, json: unknown): SuperresApiError | undefined {
    const status = response.status;
    const retryAfterHeader = parseRetryAfter(response.headers.get('retry-after'));
    const asError = errorAnswer(json);
    if (asError) {
      // A failed job fetched is answered with 200 and its error's status in http_status.
      const errorStatus = asError.http_status ?? status;
      return new SuperresApiError(asError.message, { status: errorStatus, retryAfter: asError.retry_after ?? retryAfterHeader, body: json });
    }
    if (!response.ok) {
      const detail = json === undefined && text ? `: ${text.slice(0, 200)}` : '';
      return new SuperresApiError(`HTTP ${status}${detail}`, { status, retryAfter: retryAfterHeader, body: json ?? text });
    }
    return undefined;
  }

  function parseJson(text: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }

  /** One POST; answers the parsed body or throws SuperresApiError. */
  async function post<T>(path: string, body: unknown, kind: ValidatedAnswerKind, scope: Scope): Promise<T> {
    const response = await send(path, body, scope, 'application/json');
    const text = await readText(response, scope);
    const json = parseJson(text);
    const failure = errorOf(response, text, json);
    if (failure) throw failure;
    if (json === undefined) {
      throw new SuperresApiError(`bad response: not JSON (HTTP ${response.status})`, { status: response.status, code: 'E_BAD_RESPONSE', body: text });
    }
    const parsed = checked(kind, json);
    if (!parsed.ok) throw new SuperresApiError(`bad response: ${parsed.message}`, { status: response.status, code: 'E_BAD_RESPONSE', body: json });
    return parsed.value as T;
  }

  async function once<T>(path: string, body: unknown, kind: ValidatedAnswerKind, options: RequestOptions = {}): Promise<T> {
    const scope = new Scope(options.signal, options.timeoutMs);
    try {
      return await post<T>(path, body, kind, scope);
    } finally {
      scope.dispose();
    }
  }

  function pollDelay(response: ProcessingResponse, options: WaitOptions): number {
    if (options.pollIntervalMs !== undefined) return Math.max(0, options.pollIntervalMs);
    return Math.min(5000, Math.max(250, response.eta * 1000));
  }

  /** Polls until done, starting from a `processing` answer. */
  async function poll(first: SuccessResponse | ProcessingResponse, jobKey: string, options: WaitOptions, scope: Scope): Promise<SuccessResponse> {
    let response = first;
    while (response.status === 'processing') {
      scope.jobId = response.id;
      await sleep(pollDelay(response, options), scope);
      response = await post<JobAnswer>(fetchPath(response.id), { key: jobKey }, 'job', scope);
    }
    return response;
  }

  function superResolutionBody(request: SuperResolutionParams) {
    return prepare('superResolution', { ...request, key: request.key ?? key });
  }
  type JobAnswer = SuccessResponse | ProcessingResponse;

  return {
    async superResolution(request, options = {}) {
      const body = superResolutionBody(request);
      const scope = new Scope(options.signal, options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      try {
        const first = await post<JobAnswer>(ROUTES.superResolution, body, 'job', scope);
        return await poll(first, body.key, options, scope);
      } finally {
        scope.dispose();
      }
    },

    async submitSuperResolution(request, options) {
      return once<JobAnswer>(ROUTES.superResolution, superResolutionBody(request), 'job', options);
    },

    async fetch(id, options) {
      return once<JobAnswer>(fetchPath(id), prepare('keyOnly', { key }), 'job', options);
    },

    async waitFor(id, options = {}) {
      const scope = new Scope(options.signal, options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      scope.jobId = id;
      try {
        const first = await post<JobAnswer>(fetchPath(id), { key }, 'job', scope);
        return await poll(first, key, options, scope);
      } finally {
        scope.dispose();
      }
    },

    async uploadImage(image, options) {
      const text = typeof image === 'string' ? image : bytesToBase64(image instanceof Uint8Array ? image : new Uint8Array(image));
      const body = prepare('uploadImage', { key, image: text });
      return once<UploadImageResponse>(ROUTES.uploadImage, body, 'upload', options);
    },

    async getAllModels(options) {
      return once<ModelInfo[]>(ROUTES.getAllModels, prepare('keyOnly', { key }), 'models', options);
    },

    async loadModel(request, options) {
      const body = prepare('loadModel', { ...request, key: request.key ?? adminKey });
      return once<LoadModelResponse>(ROUTES.loadModel, body, 'loadModel', options);
    },

    async verifyModel(modelId, options) {
      const body = prepare('verifyModel', { key: adminKey, model_id: modelId });
      return once<VerifyModelResponse>(ROUTES.verifyModel, body, 'verifyModel', options);
    },

    async deleteModel(modelId, options) {
      const body = prepare('deleteModel', { key: adminKey, model_id: modelId });
      return once<DeleteModelResponse>(ROUTES.deleteModel, body, 'deleteModel', options);
    },

    async downloadModel(modelId, options = {}) {
      const body = prepare('downloadModel', { key: options.key ?? key, model_id: modelId });
      const scope = new Scope(options.signal, options.timeoutMs);
      try {
        const response = await send(ROUTES.downloadModel, body, scope, 'application/octet-stream');
        if (!response.ok) {
          const text = await readText(response, scope);
          throw errorOf(response, text, parseJson(text))!;
        }
        try {
          return new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          if (scope.signal.aborted) throw scope.abortError();
          throw new SuperresApiError(`network error: ${errorMessage(error)}`, { status: 0, code: 'E_NETWORK', cause: error });
        }
      } finally {
        scope.dispose();
      }
    },

    async systemDetails(options) {
      return once<SystemDetailsResponse>(ROUTES.systemDetails, prepare('keyOnly', { key: adminKey }), 'systemDetails', options);
    },

    async clearCache(options) {
      return once<ClearCacheResponse>(ROUTES.clearCache, prepare('keyOnly', { key: adminKey }), 'clearCache', options);
    },
  };
}
