/**
 * The wire contract of the superres HTTP API (compatible with the Stable Diffusion API's enterprise
 * `super_resolution` endpoint): zod schemas and the types inferred from them.
 *
 * Naming: for every `XSchema`, `X` is what the schema produces (`z.output`, normalised, what the
 * server works with) and `XInput` is what it accepts (`z.input`, what a client may send).
 * Request schemas strip unknown keys (Stable Diffusion API clients send extra fields) and are
 * built so that `z.toJSONSchema(schema, { io: 'input' })` works (for `/openapi.json`).
 * Response schemas have no transforms, so `z.toJSONSchema(schema)` works as well.
 *
 * Every validation message names its field (`scale: expected a positive number, received 0`).
 *
 * Built on `zod/mini` (functions, not methods) so that a browser bundle takes only the parts it
 * uses: the whole SDK stays a few kilobytes gzipped, where classic zod alone is about 100.
 */
import * as z from 'zod/mini';

/** The model used when a request names none. */
export const DEFAULT_MODEL_ID = 'realesr-general-x4v3';

/**
 * Longest strings a request may carry. Every request field is bounded, so a job record (kept on
 * disk and in memory) has a small, known size whatever a client sends.
 */
export const REQUEST_LIMITS = {
  key: 256,
  url: 4096,
  modelId: 128,
  trackId: 256,
  path: 4096,
} as const;

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

/** A short, safe description of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A required non-empty string of at most `max` characters; messages name `field`. */
function requiredString(field: string, max?: number) {
  const text = z.string({ error: (iss) => (iss.input === undefined ? `${field}: required` : `${field}: expected a string, received ${describeValue(iss.input)}`) });
  const notEmpty = z.minLength(1, { error: `${field}: must not be empty` });
  return max === undefined ? text.check(notEmpty) : text.check(notEmpty, z.maxLength(max, { error: tooLong(field, max) }));
}

function tooLong(field: string, max: number) {
  return (iss: { input?: unknown }) => `${field}: at most ${max} characters, received ${typeof iss.input === 'string' ? iss.input.length : 'more'}`;
}

/** An absolute http(s) URL string of at most REQUEST_LIMITS.url characters; messages name `field`. */
export function httpUrl(field: string) {
  return z
    .string({ error: (iss) => (iss.input === undefined ? `${field}: required` : `${field}: expected an http(s) URL, received ${describeValue(iss.input)}`) })
    .check(
      z.maxLength(REQUEST_LIMITS.url, { error: tooLong(field, REQUEST_LIMITS.url), abort: true }),
      z.refine(isHttpUrl, { error: (iss) => `${field}: expected an http(s) URL, received ${describeValue(iss.input)}` }),
    );
}

/** Metadata for /openapi.json (`z.toJSONSchema` reads the global registry). */
function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  z.globalRegistry.add(schema, { description });
  return schema;
}

const keyField = requiredString('key', REQUEST_LIMITS.key);
const modelIdField = requiredString('model_id', REQUEST_LIMITS.modelId);

/** `id`: job ids are strings here; the Stable Diffusion API sends numbers. */
const idField = z.union([z.string().check(z.minLength(1)), z.number()], { error: (iss) => `id: expected a string or a number, received ${describeValue(iss.input)}` });

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A positive finite number; numeric strings (`"4"`) are accepted, as SD API clients send them. */
function positiveNumber(field: string) {
  return z.pipe(
    z.union([z.number(), z.string()], { error: (iss) => `${field}: expected a positive number, received ${describeValue(iss.input)}` }),
    z.transform((value: number | string, ctx) => {
      const n = typeof value === 'number' ? value : NUMERIC.test(value.trim()) ? Number(value.trim()) : Number.NaN;
      if (!Number.isFinite(n) || n <= 0) {
        ctx.issues.push({ code: 'custom', input: value, message: `${field}: expected a positive number, received ${describeValue(value)}` });
        return z.NEVER;
      }
      return n;
    }),
  );
}

/** A boolean; also `"true"`/`"false"`, `"1"`/`"0"` and `1`/`0`, as SD API clients send them. */
function looseBoolean(field: string) {
  return z.pipe(
    z.union([z.boolean(), z.literal(['true', 'false', 'TRUE', 'FALSE', 'True', 'False', '1', '0', '']), z.literal([0, 1])], {
      error: (iss) => `${field}: expected true or false, received ${describeValue(iss.input)}`,
    }),
    z.transform((value) => value === true || value === 'true' || value === 'TRUE' || value === 'True' || value === '1' || value === 1),
  );
}

/** An optional http(s) URL where `null` and `""` also mean "none" (normalised to undefined). */
function optionalUrl(field: string) {
  return z.pipe(
    z.optional(
      z.union([httpUrl(field), z.literal(''), z.null()], { error: (iss) => `${field}: expected an http(s) URL or null, received ${describeValue(iss.input)}` }),
    ),
    z.transform((value) => (value ? value : undefined)),
  );
}

// ---------------------------------------------------------------------------------------------
// super_resolution
// ---------------------------------------------------------------------------------------------

/**
 * `POST /api/v1/enterprise/super_resolution`.
 *
 * Normalised output: `url` (from `url` or `init_image`; both may be sent only if equal),
 * `scale` a number (undefined: the model's native scale; the server applies its maximum),
 * `model_id` (undefined: the server uses {@link DEFAULT_MODEL_ID}), `webhook` (null/"" become
 * undefined), `face_enhance` a boolean (default false), `track_id` a string (numbers are turned
 * into strings; null/"" become undefined).
 */
export const SuperResolutionRequestSchema = z.pipe(
  z
    .object({
      key: described(keyField, 'Your API key.'),
      url: described(z.optional(httpUrl('url')), 'http(s) URL of the image to upscale.'),
      init_image: described(z.optional(httpUrl('init_image')), 'Alias of url.'),
      scale: described(z.optional(positiveNumber('scale')), "Output scale (a positive number up to the server's limit). Default: the model's native scale."),
      model_id: described(
        z.pipe(
          z.optional(
            z.union([z.string().check(z.maxLength(REQUEST_LIMITS.modelId, { error: tooLong('model_id', REQUEST_LIMITS.modelId) })), z.null()], {
              error: (iss) => `model_id: expected a string, received ${describeValue(iss.input)}`,
            }),
          ),
          z.transform((value) => (value ? value : undefined)),
        ),
        `The upscaler. Default: ${DEFAULT_MODEL_ID}.`,
      ),
      webhook: described(optionalUrl('webhook'), 'URL that receives a signed POST when the job finishes.'),
      face_enhance: described(
        z.pipe(
          z.optional(looseBoolean('face_enhance')),
          z.transform((value) => value ?? false),
        ),
        'Restore faces with GFPGAN. Default false.',
      ),
      track_id: described(
        z.pipe(
          z.optional(
            z.union([z.string().check(z.maxLength(REQUEST_LIMITS.trackId, { error: tooLong('track_id', REQUEST_LIMITS.trackId) })), z.number(), z.null()], {
              error: (iss) => `track_id: expected a string or a number, received ${describeValue(iss.input)}`,
            }),
          ),
          z.transform((value) => (value === null || value === undefined || value === '' ? undefined : String(value))),
        ),
        'Your own id, echoed in the webhook.',
      ),
    })
    .check(
      z.superRefine((value, ctx) => {
        if (value.url === undefined && value.init_image === undefined) {
          ctx.issues.push({ code: 'custom', input: value, path: ['url'], message: 'url: required (an http(s) URL of the image; also accepted as init_image)' });
        } else if (value.url !== undefined && value.init_image !== undefined && value.url !== value.init_image) {
          ctx.issues.push({ code: 'custom', input: value, path: ['init_image'], message: 'init_image: give either url or init_image, not two different URLs' });
        }
      }),
    ),
  z.transform(({ init_image, url, ...rest }) => ({ ...rest, url: (url ?? init_image) as string })),
);

export type SuperResolutionRequest = z.output<typeof SuperResolutionRequestSchema>;
export type SuperResolutionRequestInput = z.input<typeof SuperResolutionRequestSchema>;

const nonNegative = () => z.number().check(z.nonnegative());
const count = () => z.int().check(z.nonnegative());

/** A finished job. `output` is the URL of the result image. */
export const SuccessResponseSchema = z.object({
  status: z.literal('success'),
  /** Seconds spent producing the output. */
  generationTime: nonNegative(),
  id: idField,
  output: httpUrl('output'),
});
export type SuccessResponse = z.output<typeof SuccessResponseSchema>;

/** A job not finished within the server's wait: poll `fetch_result` (`POST {key}`). */
export const ProcessingResponseSchema = z.object({
  status: z.literal('processing'),
  id: idField,
  /** Estimated seconds until the result. */
  eta: nonNegative(),
  /** The URL of `POST /api/v1/enterprise/fetch/{id}` for this job. */
  fetch_result: httpUrl('fetch_result'),
  message: z.string(),
  /** The legacy spelling of `message`, which Stable Diffusion API clients read. Same text. */
  messege: z.string(),
  output: z.literal(''),
});
export type ProcessingResponse = z.output<typeof ProcessingResponseSchema>;

/** Every error, with a meaningful HTTP status. `retry_after` (seconds) comes with HTTP 429 and 503. */
export const ErrorResponseSchema = z.object({
  status: z.literal('error'),
  message: z.string(),
  /** A stable error code (`E_...`). */
  code: z.optional(z.string()),
  /** The job's id, when the error is a failed job's. */
  id: z.optional(idField),
  /** A failed job's error as an HTTP status; `fetch` answers such a job with HTTP 200. */
  http_status: z.optional(z.int()),
  retry_after: z.optional(nonNegative()),
});
export type ErrorResponse = z.output<typeof ErrorResponseSchema>;

export const SuperResolutionResponseSchema = z.discriminatedUnion('status', [SuccessResponseSchema, ProcessingResponseSchema, ErrorResponseSchema]);
export type SuperResolutionResponse = z.output<typeof SuperResolutionResponseSchema>;

// ---------------------------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------------------------

/** `POST /api/v1/enterprise/fetch/{id}` (also `/api/v1/enterprise/super_resolution/fetch/{id}`). */
export const FetchRequestSchema = z.object({ key: keyField });
export type FetchRequest = z.output<typeof FetchRequestSchema>;
export type FetchRequestInput = z.input<typeof FetchRequestSchema>;

export const FetchResponseSchema = SuperResolutionResponseSchema;
export type FetchResponse = SuperResolutionResponse;

// ---------------------------------------------------------------------------------------------
// upload_image
// ---------------------------------------------------------------------------------------------

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * `POST /api/v1/enterprise/upload_image`: `image` is base64, optionally as a `data:` URL.
 * Normalised output: `image` is the bare base64 text (whitespace removed) and `mime_type` the
 * type named by the data URL, if any.
 */
export const UploadImageRequestSchema = z.pipe(
  z.object({
    key: keyField,
    image: requiredString('image'),
  }),
  z.transform((value: { key: string; image: string }, ctx) => {
    let image = value.image;
    let mime_type: string | undefined;
    const match = DATA_URL.exec(image);
    if (match) {
      mime_type = match[1]?.toLowerCase();
      image = image.slice(match[0].length);
    }
    image = image.replace(/\s+/g, '');
    if (image.length === 0 || !BASE64.test(image)) {
      ctx.issues.push({ code: 'custom', path: ['image'], input: value.image, message: 'image: expected base64 text or a data:...;base64, URL' });
      return z.NEVER;
    }
    return { key: value.key, image, mime_type };
  }),
);
export type UploadImageRequest = z.output<typeof UploadImageRequestSchema>;
export type UploadImageRequestInput = z.input<typeof UploadImageRequestSchema>;

export const UploadImageResponseSchema = z.object({
  status: z.literal('success'),
  /** The URL of the uploaded image, usable as `url` in `super_resolution`. */
  output: httpUrl('output'),
  id: z.optional(idField),
});
export type UploadImageResponse = z.output<typeof UploadImageResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Model management and system routes
// ---------------------------------------------------------------------------------------------

/** One model as the server lists it. */
export const ModelInfoSchema = z.object({
  model_id: z.string(),
  /** Native scale factor. */
  scale: z.number().check(z.positive()),
  /** `SRVGGNetCompact`, `RRDBNet`, `GFPGAN`, ... */
  architecture: z.string(),
  description: z.string(),
  /** Weights are on this server (no download needed before the first job). */
  installed: z.boolean(),
  /** The model used when a request names none. */
  default: z.optional(z.boolean()),
});
export type ModelInfo = z.output<typeof ModelInfoSchema>;

/** `{ key }`: the body of `get_all_models`, `system_details` and `clear_cache`. */
export const KeyOnlyRequestSchema = z.object({ key: keyField });
export type KeyOnlyRequest = z.output<typeof KeyOnlyRequestSchema>;

/** `POST /api/v1/enterprise/get_all_models`. */
export const GetAllModelsRequestSchema = KeyOnlyRequestSchema;
export type GetAllModelsRequest = KeyOnlyRequest;
/** One of the models face enhancement (`face_enhance: true`) runs, and whether its weights are here. */
export const FaceModelInfoSchema = z.object({
  /** `restorer` (GFPGAN), `detector` (RetinaFace) or `parser` (ParseNet). */
  role: z.enum(['restorer', 'detector', 'parser']),
  model_id: z.string(),
  architecture: z.string(),
  description: z.string(),
  /** Weights are on this server; when false they are downloaded at the first face_enhance job. */
  installed: z.boolean(),
  /** Where the server downloads them from when they are not installed. */
  url: z.optional(z.string()),
});
export type FaceModelInfo = z.output<typeof FaceModelInfoSchema>;

export const FaceEnhanceInfoSchema = z.object({
  /** The models `face_enhance: true` uses (SUPERRES_FACE_MODEL, SUPERRES_FACE_DETECTOR, SUPERRES_FACE_PARSER). */
  models: z.array(FaceModelInfoSchema),
  /** Ids whose weights are not on this server yet. */
  missing: z.array(z.string()),
});
export type FaceEnhanceInfo = z.output<typeof FaceEnhanceInfoSchema>;

export const GetAllModelsResponseSchema = z.object({
  status: z.literal('success'),
  /** The upscalers a request's `model_id` can name. */
  models: z.array(ModelInfoSchema),
  /** Face enhancement's models (superres extension; absent on servers that predate it). */
  face_enhance: z.optional(FaceEnhanceInfoSchema),
});
export type GetAllModelsResponse = z.output<typeof GetAllModelsResponseSchema>;

const SHA256 = /^[0-9a-fA-F]{64}$/;
const sha256Error = (iss: { input?: unknown }) => `sha256: expected 64 hexadecimal digits, received ${describeValue(iss.input)}`;

/**
 * `POST /api/v1/enterprise/load_model` (admin key): registers a model from a URL or a file path
 * on the server (exactly one), with an optional sha256 (normalised to lower case).
 */
export const LoadModelRequestSchema = z.pipe(
  z
    .object({
      key: keyField,
      model_id: modelIdField,
      url: z.optional(httpUrl('url')),
      path: z.optional(requiredString('path', REQUEST_LIMITS.path)),
      sha256: z.optional(z.string({ error: sha256Error }).check(z.regex(SHA256, { error: sha256Error }))),
    })
    .check(
      z.superRefine((value, ctx) => {
        if ((value.url === undefined) === (value.path === undefined)) {
          ctx.issues.push({ code: 'custom', input: value, path: ['url'], message: 'url: give exactly one of url or path' });
        }
      }),
    ),
  z.transform((value) => (value.sha256 === undefined ? value : { ...value, sha256: value.sha256.toLowerCase() })),
);
export type LoadModelRequest = z.output<typeof LoadModelRequestSchema>;
export type LoadModelRequestInput = z.input<typeof LoadModelRequestSchema>;
export const LoadModelResponseSchema = z.object({
  status: z.literal('success'),
  message: z.string(),
  model: z.optional(ModelInfoSchema),
});
export type LoadModelResponse = z.output<typeof LoadModelResponseSchema>;

/** `POST /api/v1/enterprise/verify_model` (admin key): checks the stored weights against their sha256. */
export const VerifyModelRequestSchema = z.object({ key: keyField, model_id: modelIdField });
export type VerifyModelRequest = z.output<typeof VerifyModelRequestSchema>;
export const VerifyModelResponseSchema = z.object({
  status: z.literal('success'),
  model_id: z.string(),
  /** The weights are present and match the expected sha256 (when one is known). */
  verified: z.boolean(),
  sha256: z.optional(z.string()),
  message: z.optional(z.string()),
});
export type VerifyModelResponse = z.output<typeof VerifyModelResponseSchema>;

/** `POST /api/v1/enterprise/delete_model` (admin key). */
export const DeleteModelRequestSchema = z.object({ key: keyField, model_id: modelIdField });
export type DeleteModelRequest = z.output<typeof DeleteModelRequestSchema>;
export const DeleteModelResponseSchema = z.object({
  status: z.literal('success'),
  message: z.string(),
});
export type DeleteModelResponse = z.output<typeof DeleteModelResponseSchema>;

/**
 * `POST /api/v1/enterprise/download_model`: the weights file of an installed model, as stored
 * (`application/octet-stream`). Catalog models with any key, imported models with an admin key.
 */
export const DownloadModelRequestSchema = z.object({ key: keyField, model_id: modelIdField });
export type DownloadModelRequest = z.output<typeof DownloadModelRequestSchema>;

/** `POST /api/v1/enterprise/system_details` (admin key). */
export const SystemDetailsRequestSchema = KeyOnlyRequestSchema;
export type SystemDetailsRequest = KeyOnlyRequest;
export const QueueDetailsSchema = z.object({
  /** `embedded` (default) or `redis` (BullMQ). */
  backend: z.enum(['embedded', 'redis']),
  /** Jobs waiting to run. */
  waiting: count(),
  /** Jobs running now. */
  active: count(),
  /** Most jobs run at once by this process. */
  concurrency: count(),
  completed: z.optional(count()),
  failed: z.optional(count()),
});
export type QueueDetails = z.output<typeof QueueDetailsSchema>;
export const SystemDetailsResponseSchema = z.object({
  status: z.literal('success'),
  /** The server's version. */
  version: z.string(),
  models: z.array(ModelInfoSchema),
  queue: QueueDetailsSchema,
  /** `local` or `s3`. */
  storage: z.optional(z.string()),
  /** Inference backend, e.g. `onnxruntime-node (cpu)`. */
  backend: z.optional(z.string()),
  uptime_seconds: z.optional(nonNegative()),
});
export type SystemDetailsResponse = z.output<typeof SystemDetailsResponseSchema>;

/** `POST /api/v1/enterprise/clear_cache` (admin key): deletes stored outputs and uploads. */
export const ClearCacheRequestSchema = KeyOnlyRequestSchema;
export type ClearCacheRequest = KeyOnlyRequest;
export const ClearCacheResponseSchema = z.object({
  status: z.literal('success'),
  message: z.string(),
  /** How many objects were deleted. */
  cleared: z.optional(count()),
});
export type ClearCacheResponse = z.output<typeof ClearCacheResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Probes
// ---------------------------------------------------------------------------------------------

/** `GET /healthz`: the process answers. */
export const HealthResponseSchema = z.object({ status: z.literal('ok') });
export type HealthResponse = z.output<typeof HealthResponseSchema>;

/** `GET /readyz`: 200 with `ok` when every check passes, else 503 with `unavailable`. */
export const ReadyResponseSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.object({
    /** The server takes requests (false while it shuts down). */
    accepting: z.boolean(),
    /** The queue can record a job (a probe write). */
    queue: z.boolean(),
    /** The output storage can be written. */
    storage: z.boolean(),
    /** The models directory can be read. */
    models: z.boolean(),
  }),
});
export type ReadyResponse = z.output<typeof ReadyResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/**
 * The body the server POSTs to a request's `webhook` when the job finishes. `output` is the
 * result URL on success and `""` on error (then `message` says why). Signed: see `webhook.ts`.
 */
export const WebhookPayloadSchema = z.object({
  status: z.enum(['success', 'error']),
  id: idField,
  output: z.string(),
  generationTime: z.optional(nonNegative()),
  track_id: z.optional(z.union([z.string(), z.number(), z.null()])),
  message: z.optional(z.string()),
});
export type WebhookPayload = z.output<typeof WebhookPayloadSchema>;

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/**
 * One line from a validation failure: each issue's message (prefixed by its path when the message
 * does not name it already), joined by `; `.
 */
export function formatValidationError(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path && !issue.message.startsWith(path) ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
