/**
 * Full validation for the client, from the wire schemas: `createClient({ ..., validation:
 * schemaValidation })` refuses a bad request before sending it (SuperresValidationError, fields
 * normalised as the server would) and checks every field of every answer. It brings zod/mini into
 * the bundle (about 10 KB gzipped); without it the server validates the same schemas and the
 * client checks the fields it uses (answer-shape.ts).
 */
import * as z from 'zod/mini';
import { SuperresValidationError } from './errors.js';
import * as schemas from './schemas.js';
import type { AnswerKind } from './answer-shape.js';

export type RequestKind = 'superResolution' | 'uploadImage' | 'keyOnly' | 'loadModel' | 'verifyModel' | 'deleteModel' | 'downloadModel';
export type ValidatedAnswerKind = AnswerKind | 'loadModel' | 'verifyModel' | 'deleteModel' | 'systemDetails' | 'clearCache';

export interface ClientValidation {
  /** The request as the server will read it; throws SuperresValidationError. */
  request(kind: RequestKind, body: unknown): unknown;
  /** The answer, parsed; or why it does not match. */
  answer(kind: ValidatedAnswerKind, answer: unknown): { ok: true; value: unknown } | { ok: false; message: string };
}

const REQUESTS: Record<RequestKind, z.ZodMiniType> = {
  superResolution: schemas.SuperResolutionRequestSchema,
  uploadImage: schemas.UploadImageRequestSchema,
  keyOnly: schemas.KeyOnlyRequestSchema,
  loadModel: schemas.LoadModelRequestSchema,
  verifyModel: schemas.VerifyModelRequestSchema,
  deleteModel: schemas.DeleteModelRequestSchema,
  downloadModel: schemas.DownloadModelRequestSchema,
};

const ANSWERS: Record<ValidatedAnswerKind, z.ZodMiniType> = {
  job: z.discriminatedUnion('status', [schemas.SuccessResponseSchema, schemas.ProcessingResponseSchema]),
  upload: schemas.UploadImageResponseSchema,
  models: z.union([z.pipe(schemas.GetAllModelsResponseSchema, z.transform((r) => r.models)), z.array(schemas.ModelInfoSchema)]),
  success: z.object({ status: z.literal('success') }),
  loadModel: schemas.LoadModelResponseSchema,
  verifyModel: schemas.VerifyModelResponseSchema,
  deleteModel: schemas.DeleteModelResponseSchema,
  systemDetails: schemas.SystemDetailsResponseSchema,
  clearCache: schemas.ClearCacheResponseSchema,
};

export const schemaValidation: ClientValidation = {
  request(kind, body) {
    const result = REQUESTS[kind].safeParse(body);
    if (!result.success) {
      throw new SuperresValidationError(
        schemas.formatValidationError(result.error),
        result.error.issues.map((issue) => ({ path: issue.path, message: issue.message })),
      );
    }
    // upload_image's schema splits a data: URL; the server takes the text as sent.
    return kind === 'uploadImage' ? body : result.data;
  },
  answer(kind, answer) {
    const result = ANSWERS[kind].safeParse(answer);
    return result.success ? { ok: true, value: result.data } : { ok: false, message: schemas.formatValidationError(result.error) };
  },
};
