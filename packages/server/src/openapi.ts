/**
 * /openapi.json, built from the sdk's zod schemas (the wire contract has one source) and the
 * server's error table (each error response lists the codes that answer with its status).
 * Operations and their errors are declared in `openapi-operations.ts`.
 */
import { z, type core } from 'zod';
import * as sdk from '@superres/sdk';
import { HTTP_STATUS_BY_CODE, type HttpErrorCode } from './errors-http.js';
import { OPERATIONS, TAGS, type Body, type Operation } from './openapi-operations.js';

type Json = Record<string, unknown>;

/** Request bodies: described as a client may send them (`io: 'input'`). */
const REQUEST_SCHEMAS: Record<string, core.$ZodType> = {
  SuperResolutionRequest: sdk.SuperResolutionRequestSchema,
  FetchRequest: sdk.FetchRequestSchema,
  UploadImageRequest: sdk.UploadImageRequestSchema,
  KeyOnlyRequest: sdk.KeyOnlyRequestSchema,
  LoadModelRequest: sdk.LoadModelRequestSchema,
  VerifyModelRequest: sdk.VerifyModelRequestSchema,
  DeleteModelRequest: sdk.DeleteModelRequestSchema,
  DownloadModelRequest: sdk.DownloadModelRequestSchema,
};

/** Response bodies: described as the server sends them (`io: 'output'`). */
const RESPONSE_SCHEMAS: Record<string, core.$ZodType> = {
  SuccessResponse: sdk.SuccessResponseSchema,
  ProcessingResponse: sdk.ProcessingResponseSchema,
  ErrorResponse: sdk.ErrorResponseSchema,
  UploadImageResponse: sdk.UploadImageResponseSchema,
  ModelInfo: sdk.ModelInfoSchema,
  FaceModelInfo: sdk.FaceModelInfoSchema,
  FaceEnhanceInfo: sdk.FaceEnhanceInfoSchema,
  GetAllModelsResponse: sdk.GetAllModelsResponseSchema,
  LoadModelResponse: sdk.LoadModelResponseSchema,
  VerifyModelResponse: sdk.VerifyModelResponseSchema,
  DeleteModelResponse: sdk.DeleteModelResponseSchema,
  QueueDetails: sdk.QueueDetailsSchema,
  SystemDetailsResponse: sdk.SystemDetailsResponseSchema,
  ClearCacheResponse: sdk.ClearCacheResponseSchema,
  HealthResponse: sdk.HealthResponseSchema,
  ReadyResponse: sdk.ReadyResponseSchema,
  WebhookPayload: sdk.WebhookPayloadSchema,
};

const KEY_DESCRIPTION = 'Your API key. Required here unless it is sent as `Authorization: Bearer <key>`.';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Named component schemas; one registered schema inside another becomes a `$ref`. */
function componentSchemas(schemas: Record<string, core.$ZodType>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: generated } = z.toJSONSchema(registry, { io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }) as {
    schemas: Record<string, Json>;
  };
  const out: Record<string, Json> = {};
  for (const [id, { $schema: _schema, $id: _id, ...schema }] of Object.entries(generated)) out[id] = schema;
  return out;
}

/** The body `key` may come as a Bearer token instead, so the document does not require it. */
function keyOptional(schema: Json): Json {
  const properties = schema.properties as Record<string, Json> | undefined;
  if (!properties?.key) return schema;
  const required = (schema.required as string[] | undefined)?.filter((name) => name !== 'key');
  return { ...schema, properties: { ...properties, key: { ...properties.key, description: KEY_DESCRIPTION } }, required };
}

/** `status` of the job answers, so a generated client can narrow on it. */
const JOB_STATUS: Record<string, string> = { SuccessResponse: 'success', ProcessingResponse: 'processing', ErrorResponse: 'error' };

function bodySchema(body: Body): Json {
  if (typeof body === 'string') return ref(body);
  const oneOf = body.map(ref);
  if (!body.every((name) => JOB_STATUS[name])) return { oneOf };
  return { oneOf, discriminator: { propertyName: 'status', mapping: Object.fromEntries(body.map((name) => [JOB_STATUS[name], ref(name).$ref])) } };
}

const requestIdHeader = { 'x-request-id': { $ref: '#/components/headers/RequestId' } };
const errorContent = { 'application/json': { schema: ref('ErrorResponse') } };

/** Error responses by status; each description names the codes that answer with it. */
function errorResponses(operation: Operation): Record<string, Json> {
  const byStatus = new Map<number, string[]>();
  for (const code of operation.errors) {
    const status = HTTP_STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, why] of Object.entries(operation.frameworkErrors ?? {})) byStatus.set(Number(status), [...(byStatus.get(Number(status)) ?? []), why]);
  const responses: Record<string, Json> = {};
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const headers: Json = { ...requestIdHeader };
    if (status === 429 || status === 503) headers['retry-after'] = { $ref: '#/components/headers/RetryAfter' };
    const content = operation.errorBodies?.[status] ? { 'application/json': { schema: bodySchema(operation.errorBodies[status]) } } : errorContent;
    responses[String(status)] = { description: `Error: ${byStatus.get(status)!.join(', ')}`, headers, content };
  }
  return responses;
}

function operationObject(operation: Operation): Json {
  const ok = operation.success;
  const schema = ok.body === undefined ? ok.schema : bodySchema(ok.body);
  const content = schema ? { [ok.mediaType ?? 'application/json']: { schema } } : undefined;
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: operation.description,
    tags: [operation.tag],
    parameters: [...(operation.pathParameters ?? []), { $ref: '#/components/parameters/RequestId' }],
    ...(operation.request ? { requestBody: { required: true, content: { 'application/json': { schema: ref(operation.request) } } } } : {}),
    // `{}`: no header needed when the key is in the body.
    security: operation.auth === 'none' ? [] : [{ bearerAuth: [] }, {}],
    responses: {
      '200': { description: ok.description, headers: { ...requestIdHeader }, ...(content ? { content } : {}) },
      ...errorResponses(operation),
    },
  };
}

const openapiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

function paths(): Json {
  const out: Record<string, Record<string, Json>> = {};
  for (const operation of OPERATIONS) {
    const path = openapiPath(operation.path);
    (out[path] ??= {})[operation.method] = operationObject(operation);
  }
  return out;
}

/** Codes listed in the error table, for the document's description of `code`. */
function codeList(): string {
  return (Object.keys(HTTP_STATUS_BY_CODE) as HttpErrorCode[]).map((code) => `\`${code}\` (${HTTP_STATUS_BY_CODE[code]})`).join(', ');
}

export function buildOpenApi(version: string, publicUrl: string): unknown {
  const requests = componentSchemas(REQUEST_SCHEMAS, 'input');
  for (const name of Object.keys(requests)) requests[name] = keyOptional(requests[name]!);
  return {
    openapi: '3.1.0',
    info: {
      title: 'superres',
      version,
      description:
        'Image super-resolution (Real-ESRGAN upscalers, GFPGAN face enhancement), compatible with the Stable Diffusion API ' +
        'enterprise `super_resolution` endpoint. Every error answers `{ status: "error", message, code }` with the HTTP ' +
        `status of its code: ${codeList()}. Every answer carries \`x-request-id\`.`,
      license: { name: 'BSD-3-Clause', identifier: 'BSD-3-Clause' },
    },
    servers: [{ url: publicUrl, description: 'This server (SUPERRES_PUBLIC_URL)' }],
    tags: TAGS,
    paths: paths(),
    webhooks: {
      jobFinished: {
        post: {
          operationId: 'jobFinished',
          summary: "Sent to a request's webhook when its job finishes",
          description:
            `Signed: \`${sdk.WEBHOOK_SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>\` ` +
            '(SUPERRES_WEBHOOK_SECRET); check it with `verifyWebhook` from @superres/sdk.',
          tags: ['Upscaling'],
          security: [],
          parameters: [{ name: sdk.WEBHOOK_SIGNATURE_HEADER, in: 'header', required: true, description: 'The signature.', schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/json': { schema: ref('WebhookPayload') } } },
          responses: {
            '200': { description: 'Received (any 2xx).' },
            '400': { description: 'Refused; the server retries non-2xx answers a few times, then gives up.' },
          },
        },
      },
    },
    components: {
      schemas: { ...requests, ...componentSchemas(RESPONSE_SCHEMAS, 'output') },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The API key as a Bearer token. Stable Diffusion API clients send it as `key` in the JSON body instead, which works the same ' +
            '(the body wins when both are sent). Admin routes need a key from SUPERRES_ADMIN_KEYS.',
        },
      },
      parameters: {
        RequestId: {
          name: 'x-request-id',
          in: 'header',
          required: false,
          description: 'Your id for this request (1-128 of `A-Za-z0-9._:-`), echoed and logged; otherwise the server makes one.',
          schema: { type: 'string', maxLength: 128 },
        },
      },
      headers: {
        RequestId: { description: "The request's id (yours from `x-request-id`, or the server's).", schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
      },
    },
  };
}
