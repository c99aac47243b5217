/**
 * Every operation of the server for /openapi.json: its route, body and answers, and the error
 * codes it can answer with (their HTTP statuses come from the error table). A test checks this
 * list against the routes Fastify actually registers.
 */
import { ROUTES } from '@superres/sdk';
import type { HttpErrorCode } from './errors-http.js';

/** A component schema's name, or several answers told apart by `status`. */
export type Body = string | readonly string[];

export interface Operation {
  method: 'get' | 'post';
  /** Fastify's route (`:id` parameters). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'Upscaling' | 'Models' | 'Operations';
  /** `key`: any API key, `admin`: an admin key, `none`: open. */
  auth: 'key' | 'admin' | 'none';
  request?: string;
  pathParameters?: readonly unknown[];
  /** `body`: component schema(s); `schema`: a plain schema for bodies that are not JSON answers. */
  success: { description: string; body?: Body; schema?: Record<string, unknown>; mediaType?: string };
  errors: readonly HttpErrorCode[];
  /** Statuses answered outside the error table (Fastify, Node's HTTP parser), with why. */
  frameworkErrors?: Readonly<Record<number, string>>;
  /** Statuses whose body is not the plain ErrorResponse. */
  errorBodies?: Readonly<Record<number, Body>>;
}

export const TAGS = [
  { name: 'Upscaling', description: 'Submit images, poll jobs, fetch results (the Stable Diffusion API enterprise routes).' },
  { name: 'Models', description: 'List, load, verify and delete models.' },
  { name: 'Operations', description: 'Probes, metrics and this document.' },
];

/** What every route may answer, whatever it does. */
const ANY: readonly HttpErrorCode[] = ['E_INTERNAL', 'E_SERVICE_UNAVAILABLE'];
const ANY_FRAMEWORK = { 400: 'a malformed request or URL', 431: 'request headers too large' };
const PARAM_FRAMEWORK = { ...ANY_FRAMEWORK, 414: 'a path parameter too long' };
/** Routes with a JSON body and a key. */
const JSON_ROUTE: readonly HttpErrorCode[] = [...ANY, 'E_INVALID_REQUEST', 'E_UNAUTHORIZED'];
const JSON_FRAMEWORK = { ...ANY_FRAMEWORK, 413: 'a body over SUPERRES_MAX_JSON_BYTES', 415: 'a body that is not JSON' };
const ADMIN_ROUTE: readonly HttpErrorCode[] = [...JSON_ROUTE, 'E_FORBIDDEN'];

/** What a failed job reports (super_resolution answers with its status; fetch with 200). */
const JOB_FAILURES: readonly HttpErrorCode[] = [
  'E_URL_REFUSED',
  'E_DOWNLOAD',
  'E_BAD_IMAGE',
  'E_IMAGE_TOO_LARGE',
  'E_INVALID_OPTION',
  'E_BAD_CHECKPOINT',
  'E_UNSAFE_CHECKPOINT',
  'E_UNSUPPORTED_ARCH',
  'E_CHECKSUM',
  'E_BACKEND',
  'E_STORAGE',
  'E_ABORTED',
  'E_UNAVAILABLE',
];

const JOB_ANSWERS = ['SuccessResponse', 'ProcessingResponse'] as const;
const idParameter = [{ name: 'id', in: 'path', required: true, description: 'The job id.', schema: { type: 'string', maxLength: 128 } }];

const fetchOperation = (path: string, operationId: string, summary: string): Operation => ({
  method: 'post',
  path,
  operationId,
  summary,
  description:
    "A job's state. A failed job is answered with HTTP 200 and `status: \"error\"`, its error's HTTP status in `http_status` " +
    '(pollers that retry on 5xx would otherwise loop). Another key\'s job is answered like a missing one.',
  tag: 'Upscaling',
  auth: 'key',
  request: 'FetchRequest',
  pathParameters: idParameter,
  success: { description: 'The job: finished, still processing, or failed.', body: [...JOB_ANSWERS, 'ErrorResponse'] },
  errors: [...JSON_ROUTE, 'E_NOT_FOUND'],
  frameworkErrors: { ...JSON_FRAMEWORK, ...PARAM_FRAMEWORK },
});

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: ROUTES.superResolution,
    operationId: 'superResolution',
    summary: 'Upscale an image',
    description:
      'Queues a job and waits up to SUPERRES_SYNC_WAIT_MS for it: a finished job answers `success` with the output URL, a longer ' +
      'one `processing` with `fetch_result` to poll. A failed job answers with its error\'s HTTP status and `id`.',
    tag: 'Upscaling',
    auth: 'key',
    request: 'SuperResolutionRequest',
    success: { description: 'Finished, or still processing.', body: JOB_ANSWERS },
    errors: [...JSON_ROUTE, 'E_MODEL_NOT_FOUND', 'E_RATE_LIMITED', ...JOB_FAILURES],
    frameworkErrors: JSON_FRAMEWORK,
  },
  fetchOperation(ROUTES.fetch, 'fetchResult', "A job's result"),
  fetchOperation(ROUTES.fetchAlias, 'fetchResultAlias', "A job's result (the alias some Stable Diffusion API clients call)"),
  {
    method: 'post',
    path: ROUTES.uploadImage,
    operationId: 'uploadImage',
    summary: 'Upload a base64 image',
    description: 'Stores a PNG, JPEG or WebP image (base64 or a data: URL) and answers its URL, usable as `url` in super_resolution.',
    tag: 'Upscaling',
    auth: 'key',
    request: 'UploadImageRequest',
    success: { description: 'Stored.', body: 'UploadImageResponse' },
    errors: [...JSON_ROUTE, 'E_IMAGE_TOO_LARGE', 'E_BAD_IMAGE', 'E_RATE_LIMITED', 'E_STORAGE'],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'get',
    path: `${ROUTES.outputs}/:name`,
    operationId: 'getOutput',
    summary: 'A stored output or upload',
    description: 'Served by the server itself with local storage; with S3 storage, output URLs point at the bucket and this route answers 404.',
    tag: 'Upscaling',
    auth: 'none',
    pathParameters: [
      { name: 'name', in: 'path', required: true, description: 'The name in an output URL.', schema: { type: 'string', pattern: '^[0-9a-f]{32}\\.(png|jpg|webp)$' } },
    ],
    success: { description: 'The image (PNG, JPEG or WebP; content-type says which).', mediaType: 'image/*', schema: { type: 'string', contentEncoding: 'binary' } },
    errors: [...ANY, 'E_NOT_FOUND'],
    frameworkErrors: PARAM_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.getAllModels,
    operationId: 'getAllModels',
    summary: 'List models',
    description: 'The upscalers `model_id` can name (with the default marked) and the models face enhancement uses.',
    tag: 'Models',
    auth: 'key',
    request: 'KeyOnlyRequest',
    success: { description: 'The models.', body: 'GetAllModelsResponse' },
    errors: JSON_ROUTE,
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.loadModel,
    operationId: 'loadModel',
    summary: 'Register a model from a URL or a server file (admin)',
    description: 'A checkpoint (.pth, .safetensors) or ONNX file; checked against `sha256` when given. Paths must lie under SUPERRES_MODEL_IMPORT_DIRS.',
    tag: 'Models',
    auth: 'admin',
    request: 'LoadModelRequest',
    success: { description: 'Registered.', body: 'LoadModelResponse' },
    errors: [
      ...ADMIN_ROUTE,
      'E_NOT_FOUND',
      'E_TOO_LARGE',
      'E_URL_REFUSED',
      'E_DOWNLOAD',
      'E_CHECKSUM',
      'E_DUPLICATE_MODEL',
      'E_BAD_CHECKPOINT',
      'E_UNSAFE_CHECKPOINT',
      'E_UNSUPPORTED_ARCH',
      'E_INVALID_OPTION',
    ],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.verifyModel,
    operationId: 'verifyModel',
    summary: "Check a model's weights against their sha256 (admin)",
    tag: 'Models',
    auth: 'admin',
    request: 'VerifyModelRequest',
    success: { description: 'The check (`verified` says whether they match).', body: 'VerifyModelResponse' },
    errors: [...ADMIN_ROUTE, 'E_MODEL_NOT_FOUND'],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.deleteModel,
    operationId: 'deleteModel',
    summary: "Delete a model's files (admin)",
    tag: 'Models',
    auth: 'admin',
    request: 'DeleteModelRequest',
    success: { description: 'Deleted.', body: 'DeleteModelResponse' },
    errors: [...ADMIN_ROUTE, 'E_MODEL_NOT_FOUND'],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.downloadModel,
    operationId: 'downloadModel',
    summary: "An installed model's weights file",
    description:
      'The file as stored (`.pth`, `.safetensors` or `.onnx`), for clients that run the model themselves (the browser demo). ' +
      'Catalog models with any key; imported models with an admin key. A model not downloaded yet answers 404.',
    tag: 'Models',
    auth: 'key',
    request: 'DownloadModelRequest',
    success: { description: 'The weights.', mediaType: 'application/octet-stream', schema: { type: 'string', contentEncoding: 'binary' } },
    errors: [...JSON_ROUTE, 'E_FORBIDDEN', 'E_MODEL_NOT_FOUND'],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.systemDetails,
    operationId: 'systemDetails',
    summary: 'Version, models, queue and backend (admin)',
    tag: 'Operations',
    auth: 'admin',
    request: 'KeyOnlyRequest',
    success: { description: 'The details.', body: 'SystemDetailsResponse' },
    errors: ADMIN_ROUTE,
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'post',
    path: ROUTES.clearCache,
    operationId: 'clearCache',
    summary: 'Delete stored outputs and uploads, unload models (admin)',
    tag: 'Operations',
    auth: 'admin',
    request: 'KeyOnlyRequest',
    success: { description: 'Cleared.', body: 'ClearCacheResponse' },
    errors: [...ADMIN_ROUTE, 'E_STORAGE'],
    frameworkErrors: JSON_FRAMEWORK,
  },
  {
    method: 'get',
    path: ROUTES.healthz,
    operationId: 'healthz',
    summary: 'Liveness: the process answers',
    tag: 'Operations',
    auth: 'none',
    success: { description: 'Alive.', body: 'HealthResponse' },
    errors: ANY,
    frameworkErrors: ANY_FRAMEWORK,
  },
  {
    method: 'get',
    path: ROUTES.readyz,
    operationId: 'readyz',
    summary: 'Readiness: accepting, queue and storage writable, models readable',
    tag: 'Operations',
    auth: 'none',
    success: { description: 'Ready.', body: 'ReadyResponse' },
    errors: ANY,
    frameworkErrors: ANY_FRAMEWORK,
    // A failed check answers the checks; a shutdown answers the plain error.
    errorBodies: { 503: ['ReadyResponse', 'ErrorResponse'] },
  },
  {
    method: 'get',
    path: ROUTES.metrics,
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'Operations',
    auth: 'none',
    success: { description: 'Prometheus text exposition format 0.0.4.', mediaType: 'text/plain', schema: { type: 'string' } },
    errors: ANY,
    frameworkErrors: ANY_FRAMEWORK,
  },
  {
    method: 'get',
    path: ROUTES.openapi,
    operationId: 'openapi',
    summary: 'This document',
    tag: 'Operations',
    auth: 'none',
    success: { description: 'The OpenAPI 3.1 document.', schema: { type: 'object' } },
    errors: ANY,
    frameworkErrors: ANY_FRAMEWORK,
  },
];
