/** super_resolution and fetch: submit a job, wait a while for it, or tell the client to poll. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidOptionError, ModelNotFoundError } from '@superres/core';
import {
  DEFAULT_MODEL_ID,
  FetchRequestSchema,
  ROUTES,
  SuperResolutionRequestSchema,
  fetchPath,
  type ProcessingResponse,
  type SuccessResponse,
} from '@superres/sdk';
import type { JobRecord } from '../contracts.js';
import { RateLimitedError, ServerError } from '../errors.js';
import { statusForCode, type ErrorBody } from '../errors-http.js';
import { authenticate, parseBody } from './auth.js';
import type { AppContext } from './context.js';

export function registerJobRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { config, queue, store, metrics } = ctx;

  async function answer(reply: FastifyReply, job: JobRecord): Promise<FastifyReply> {
    if (job.status === 'success' && job.output) {
      const body: SuccessResponse = { status: 'success', generationTime: job.generationTime ?? 0, id: job.id, output: job.output };
      return reply.code(200).send(body);
    }
    if (job.status === 'error') {
      const body: ErrorBody = { status: 'error', id: job.id, message: job.error ?? 'The job failed' };
      if (job.errorCode) body.code = job.errorCode;
      return reply.code(statusForCode(job.errorCode)).send(body);
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
    const modelId = body.model_id ?? DEFAULT_MODEL_ID;
    if (!(await store.has(modelId))) {
      throw new ModelNotFoundError(`model_id: no model "${modelId}" (see get_all_models)`, { details: { id: modelId } });
    }
    if (body.scale !== undefined && body.scale > config.maxScale) {
      throw new InvalidOptionError(`scale: at most ${config.maxScale} on this server, received ${body.scale}`, { details: { option: 'scale' } });
    }
    const pending = await queue.countPending(identity.keyId);
    if (pending >= config.perKeyQueueLimit) {
      const retryAfter = Math.max(1, Math.ceil(metrics.meanSeconds()));
      reply.header('retry-after', String(retryAfter));
      throw new RateLimitedError(`Too many jobs in progress for this key (${pending}, limit ${config.perKeyQueueLimit}): retry later`, retryAfter);
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
    await queue.enqueue(job);
    metrics.jobQueued();
    request.log.info({ jobId: job.id, keyId: identity.keyId, modelId }, 'job queued');
    const current = (await queue.waitFor(job.id, config.syncWaitMs)) ?? job;
    return answer(reply, current);
  });

  const fetchHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = authenticate(ctx.keys, request);
    parseBody(FetchRequestSchema, request);
    const id = (request.params as { id: string }).id;
    const job = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id) ? await queue.get(id) : undefined;
    // Another key's job is reported exactly like a missing one.
    if (!job || job.keyId !== identity.keyId) throw new ServerError('E_NOT_FOUND', `No job with id "${id}" for this key`);
    return answer(reply, job);
  };
  app.post(ROUTES.fetch, fetchHandler);
  app.post(ROUTES.fetchAlias, fetchHandler);
}
