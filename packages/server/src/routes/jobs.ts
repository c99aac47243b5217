/** super_resolution and fetch: submit a job, wait a while for it, or tell the client to poll. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidOptionError, ModelNotFoundError } from '@superres/core';
import {
  FetchRequestSchema,
  ROUTES,
  SuperResolutionRequestSchema,
  fetchPath,
  type ProcessingResponse,
  type SuccessResponse,
} from '@superres/sdk';
import type { JobRecord } from '../contracts.js';
import { RateLimitedError, ServerError, ServiceUnavailableError } from '../errors.js';
import { statusForCode, type ErrorBody } from '../errors-http.js';
import { PerKeyLimitError } from '../queue/common.js';
import { authenticate, parseBody } from './auth.js';
import type { AppContext } from './context.js';

/** Smallest output scale super_resolution accepts. */
export const MIN_SCALE = 1;

/** Seconds a client is told to wait (Retry-After and `retry_after`) when a job cannot be recorded. */
const ENQUEUE_RETRY_AFTER_S = 30;

export function registerJobRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { config, queue, store, metrics } = ctx;

  /**
   * A finished or pending job's answer. A failed job is reported with the HTTP status of its
   * error in `http_status`; `fetch` answers it with 200 (the request itself succeeded: pollers
   * that retry on 5xx would loop), `super_resolution` with that status.
   */
  async function answer(reply: FastifyReply, job: JobRecord, route: 'submit' | 'fetch'): Promise<FastifyReply> {
    if (job.status === 'success' && job.output) {
      const body: SuccessResponse = { status: 'success', generationTime: job.generationTime ?? 0, id: job.id, output: job.output };
      return reply.code(200).send(body);
    }
    if (job.status === 'error') {
      const httpStatus = statusForCode(job.errorCode);
      const body: ErrorBody = { status: 'error', id: job.id, message: job.error ?? 'The job failed', http_status: httpStatus };
      if (job.errorCode) body.code = job.errorCode;
      return reply.code(route === 'fetch' ? 200 : httpStatus).send(body);
    }
    // A job running here: its own estimate from the throughput measured so far. Queued: the jobs
    // ahead share the workers, each taking the measured mean time.
    const left = job.status === 'processing' ? ctx.progress.secondsLeft(job.id) : undefined;
    const ahead = await queue.position(job.id).catch(() => 0);
    const eta = Math.max(1, Math.round(left ?? (Math.floor(ahead / Math.max(1, config.concurrency)) + 1) * metrics.meanSeconds()));
    const message = job.status === 'queued' ? `Queued: ${ahead} job(s) ahead` : 'Processing: try again in a few seconds';
    const body: ProcessingResponse = {
      status: 'processing',
      id: job.id,
      eta,
      fetch_result: `${config.publicUrl}${fetchPath(job.id)}`,
      message,
      messege: message,
      output: '',
    };
    return reply.code(200).send(body);
  }

  app.post(ROUTES.superResolution, async (request, reply) => {
    const identity = authenticate(ctx.keys, request);
    const body = parseBody(SuperResolutionRequestSchema, request);
    const modelId = body.model_id ?? config.defaultModel;
    if (!(await store.has(modelId))) {
      throw new ModelNotFoundError(`model_id: no model "${modelId}" (see get_all_models)`, { details: { id: modelId } });
    }
    const kind = (await store.plugin(modelId)).kind;
    if (kind !== 'upscaler') {
      throw new InvalidOptionError(`model_id: "${modelId}" is a ${kind} model, not an upscaler (face models work through face_enhance: true)`, {
        details: { option: 'model_id' },
      });
    }
    if (body.scale !== undefined && body.scale > config.maxScale) {
      throw new InvalidOptionError(`scale: at most ${config.maxScale} on this server, received ${body.scale}`, { details: { option: 'scale' } });
    }
    // Below 1 the model's full run would be thrown away by the resize (1e-300: a 1x1 output).
    if (body.scale !== undefined && body.scale < MIN_SCALE) {
      throw new InvalidOptionError(`scale: at least ${MIN_SCALE} (this is an upscaler), received ${body.scale}`, { details: { option: 'scale' } });
    }
    const budget = ctx.quotas.compute.check(identity.keyId);
    if (!budget.ok) {
      reply.header('retry-after', String(budget.retryAfterSeconds));
      throw new RateLimitedError(
        `This key used its processing time for now (SUPERRES_COMPUTE_QUOTA per hour): retry in ${budget.retryAfterSeconds} s`,
        budget.retryAfterSeconds,
      );
    }
    const job: JobRecord = {
      id: randomUUID(),
      keyId: identity.keyId,
      status: 'queued',
      input: {
        url: body.url,
        modelId,
        faceEnhance: body.face_enhance,
        ...(body.scale !== undefined ? { scale: body.scale } : {}),
        ...(body.webhook ? { webhook: body.webhook } : {}),
        ...(body.track_id !== undefined ? { trackId: body.track_id } : {}),
      },
      createdAt: Date.now(),
      attempts: 0,
    };
    try {
      await queue.enqueue(job, { perKeyLimit: config.perKeyQueueLimit });
    } catch (error) {
      if (!(error instanceof PerKeyLimitError)) {
        // The job could not be recorded (a full or failing disk, Redis away): nothing was
        // accepted, and the client may retry. The cause stays in the log.
        request.log.error({ err: error, keyId: identity.keyId }, 'could not enqueue a job');
        reply.header('retry-after', String(ENQUEUE_RETRY_AFTER_S));
        throw new ServiceUnavailableError('The server cannot record jobs right now: retry later', ENQUEUE_RETRY_AFTER_S);
      }
      const retryAfter = Math.max(1, Math.ceil(metrics.meanSeconds()));
      reply.header('retry-after', String(retryAfter));
      throw new RateLimitedError(`${error.message}: retry later`, retryAfter);
    }
    metrics.jobQueued();
    request.log.info({ jobId: job.id, keyId: identity.keyId, modelId }, 'job queued');
    const current = (await queue.waitFor(job.id, config.syncWaitMs)) ?? job;
    return answer(reply, current, 'submit');
  });

  const fetchHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = authenticate(ctx.keys, request);
    parseBody(FetchRequestSchema, request);
    const id = (request.params as { id: string }).id;
    const job = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id) ? await queue.get(id) : undefined;
    // Another key's job is reported exactly like a missing one.
    if (!job || job.keyId !== identity.keyId) throw new ServerError('E_NOT_FOUND', `No job with id "${id}" for this key`);
    return answer(reply, job, 'fetch');
  };
  app.post(ROUTES.fetch, fetchHandler);
  app.post(ROUTES.fetchAlias, fetchHandler);
}
