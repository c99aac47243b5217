/** /openapi.json, generated from the sdk's zod schemas (the wire contract has one source). */
import { z } from 'zod';
import * as sdk from '@superres/sdk';

type Schema = z.ZodType;

function json(schema: Schema, io: 'input' | 'output'): unknown {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function operation(summary: string, request: Schema | undefined, response: Schema, admin = false): unknown {
  return {
    summary: admin ? `${summary} (admin key)` : summary,
    ...(request
      ? { requestBody: { required: true, content: { 'application/json': { schema: json(request, 'input') } } } }
      : {}),
    responses: {
      '200': { description: 'Success', content: { 'application/json': { schema: json(response, 'output') } } },
      default: { description: 'Error', content: { 'application/json': { schema: json(sdk.ErrorResponseSchema, 'output') } } },
    },
  };
}

const idParam = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
const openapiPath = (route: string) => route.replace(/:(\w+)/g, '{$1}');

export function buildOpenApi(version: string): unknown {
  const { ROUTES } = sdk;
  const fetchOp = { ...(operation('Result of a job', sdk.FetchRequestSchema, sdk.FetchResponseSchema) as object), parameters: idParam };
  return {
    openapi: '3.1.0',
    info: { title: 'superres', version, description: 'Image super-resolution, compatible with the Stable Diffusion API enterprise super_resolution endpoint.' },
    paths: {
      [ROUTES.superResolution]: { post: operation('Upscale an image', sdk.SuperResolutionRequestSchema, sdk.SuperResolutionResponseSchema) },
      [openapiPath(ROUTES.fetch)]: { post: fetchOp },
      [openapiPath(ROUTES.fetchAlias)]: { post: fetchOp },
      [ROUTES.uploadImage]: { post: operation('Upload a base64 image', sdk.UploadImageRequestSchema, sdk.UploadImageResponseSchema) },
      [ROUTES.getAllModels]: { post: operation('List models', sdk.GetAllModelsRequestSchema, sdk.GetAllModelsResponseSchema) },
      [ROUTES.loadModel]: { post: operation('Register a model from a URL or file', sdk.LoadModelRequestSchema, sdk.LoadModelResponseSchema, true) },
      [ROUTES.verifyModel]: { post: operation("Check a model's weights", sdk.VerifyModelRequestSchema, sdk.VerifyModelResponseSchema, true) },
      [ROUTES.deleteModel]: { post: operation('Delete a model', sdk.DeleteModelRequestSchema, sdk.DeleteModelResponseSchema, true) },
      [ROUTES.systemDetails]: { post: operation('Server details', sdk.SystemDetailsRequestSchema, sdk.SystemDetailsResponseSchema, true) },
      [ROUTES.clearCache]: { post: operation('Delete stored outputs', sdk.ClearCacheRequestSchema, sdk.ClearCacheResponseSchema, true) },
      [ROUTES.healthz]: { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      [ROUTES.readyz]: { get: { summary: 'Readiness (queue and storage)', responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } } } },
      [ROUTES.metrics]: { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Metrics', content: { 'text/plain': {} } } } } },
    },
  };
}
