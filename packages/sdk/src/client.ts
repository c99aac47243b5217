/**
 * The typed superres client. Fetch API only: runs in Node 18+ and in browsers.
 * The API key travels in the JSON body, as the Stable Diffusion API expects.
 */
import * as z from 'zod/mini';
import { SuperresApiError, SuperresTimeoutError, SuperresValidationError } from './errors.js';
import { fetchPath, ROUTES } from './routes.js';
import {
  ClearCacheResponseSchema,
  DeleteModelRequestSchema,
  DeleteModelResponseSchema,
  DownloadModelRequestSchema,
  ErrorResponseSchema,
  formatValidationError,
  GetAllModelsResponseSchema,
  KeyOnlyRequestSchema,
  LoadModelRequestSchema,
  LoadModelResponseSchema,
  ModelInfoSchema,
  ProcessingResponseSchema,
  SuccessResponseSchema,
  SuperResolutionRequestSchema,
  SystemDetailsResponseSchema,
  UploadImageRequestSchema,
  UploadImageResponseSchema,
  VerifyModelRequestSchema,
  VerifyModelResponseSchema,
  type ClearCacheResponse,
  type DeleteModelResponse,
  type LoadModelRequestInput,
  type LoadModelResponse,
  type ModelInfo,
  type ProcessingResponse,
  type SuccessResponse,
  type SuperResolutionRequestInput,
  type SystemDetailsResponse,
  type UploadImageResponse,
  type VerifyModelResponse,
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

const JobResponseSchema = z.discriminatedUnion('status', [SuccessResponseSchema, ProcessingResponseSchema]);
const ModelListSchema = z.union([z.pipe(GetAllModelsResponseSchema, z.transform((r) => r.models)), z.array(ModelInfoSchema)]);

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

function validate<S extends z.ZodMiniType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new SuperresValidationError(
      formatValidationError(result.error),
      result.error.issues.map((issue) => ({ path: issue.path, message: issue.message })),
    );
  }
  return result.data;
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
    const asError = json === undefined ? undefined : ErrorResponseSchema.safeParse(json);
    if (asError?.success) {
      // A failed job fetched is answered with 200 and its error's status in http_status.
      const errorStatus = asError.data.http_status ?? status;
      return new SuperresApiError(asError.data.message, { status: errorStatus, retryAfter: asError.data.retry_after ?? retryAfterHeader, body: json });
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
  async function post<S extends z.ZodMiniType>(path: string, body: unknown, schema: S, scope: Scope): Promise<z.output<S>> {
    const response = await send(path, body, scope, 'application/json');
    const text = await readText(response, scope);
    const json = parseJson(text);
    const failure = errorOf(response, text, json);
    if (failure) throw failure;
    if (json === undefined) {
      throw new SuperresApiError(`bad response: not JSON (HTTP ${response.status})`, { status: response.status, code: 'E_BAD_RESPONSE', body: text });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new SuperresApiError(`bad response: ${formatValidationError(parsed.error)}`, {
        status: response.status,
        code: 'E_BAD_RESPONSE',
        body: json,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  async function once<S extends z.ZodMiniType>(path: string, body: unknown, schema: S, options: RequestOptions = {}): Promise<z.output<S>> {
    const scope = new Scope(options.signal, options.timeoutMs);
    try {
      return await post(path, body, schema, scope);
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
      response = await post(fetchPath(response.id), { key: jobKey }, JobResponseSchema, scope);
    }
    return response;
  }

  function superResolutionBody(request: SuperResolutionParams) {
    return validate(SuperResolutionRequestSchema, { ...request, key: request.key ?? key });
  }

  return {
    async superResolution(request, options = {}) {
      const body = superResolutionBody(request);
      const scope = new Scope(options.signal, options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      try {
        const first = await post(ROUTES.superResolution, body, JobResponseSchema, scope);
        return await poll(first, body.key, options, scope);
      } finally {
        scope.dispose();
      }
    },

    async submitSuperResolution(request, options) {
      return once(ROUTES.superResolution, superResolutionBody(request), JobResponseSchema, options);
    },

    async fetch(id, options) {
      return once(fetchPath(id), { key }, JobResponseSchema, options);
    },

    async waitFor(id, options = {}) {
      const scope = new Scope(options.signal, options.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
      scope.jobId = id;
      try {
        const first = await post(fetchPath(id), { key }, JobResponseSchema, scope);
        return await poll(first, key, options, scope);
      } finally {
        scope.dispose();
      }
    },

    async uploadImage(image, options) {
      const text = typeof image === 'string' ? image : bytesToBase64(image instanceof Uint8Array ? image : new Uint8Array(image));
      const body = { key, image: text };
      validate(UploadImageRequestSchema, body);
      return once(ROUTES.uploadImage, body, UploadImageResponseSchema, options);
    },

    async getAllModels(options) {
      return once(ROUTES.getAllModels, validate(KeyOnlyRequestSchema, { key }), ModelListSchema, options);
    },

    async loadModel(request, options) {
      const body = validate(LoadModelRequestSchema, { ...request, key: request.key ?? adminKey });
      return once(ROUTES.loadModel, body, LoadModelResponseSchema, options);
    },

    async verifyModel(modelId, options) {
      const body = validate(VerifyModelRequestSchema, { key: adminKey, model_id: modelId });
      return once(ROUTES.verifyModel, body, VerifyModelResponseSchema, options);
    },

    async deleteModel(modelId, options) {
      const body = validate(DeleteModelRequestSchema, { key: adminKey, model_id: modelId });
      return once(ROUTES.deleteModel, body, DeleteModelResponseSchema, options);
    },

    async downloadModel(modelId, options = {}) {
      const body = validate(DownloadModelRequestSchema, { key: options.key ?? key, model_id: modelId });
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
      return once(ROUTES.systemDetails, { key: adminKey }, SystemDetailsResponseSchema, options);
    },

    async clearCache(options) {
      return once(ROUTES.clearCache, { key: adminKey }, ClearCacheResponseSchema, options);
    },
  };
}
