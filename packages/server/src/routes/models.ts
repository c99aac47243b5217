/** Model and system routes: get_all_models (any key), the rest with an admin key. */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ChecksumError, ModelNotFoundError } from '@superres/core';
import { sha256File, type StoreEntry } from '@superres/models/node';
import {
  ClearCacheRequestSchema,
  DeleteModelRequestSchema,
  DownloadModelRequestSchema,
  GetAllModelsRequestSchema,
  LoadModelRequestSchema,
  ROUTES,
  SystemDetailsRequestSchema,
  VerifyModelRequestSchema,
  type ModelInfo,
  type SystemDetailsResponse,
} from '@superres/sdk';
import { safeFetch } from '../net/safe-fetch.js';
import { resolveModelImportPath } from '../model-import-path.js';
import { ServerError } from '../errors.js';
import { authenticate, parseBody } from './auth.js';
import { faceEnhanceInfo } from '../face-models.js';
import type { AppContext } from './context.js';

const MODEL_DOWNLOAD_TIMEOUT_MS = 10 * 60 * 1000;

function modelInfo(entry: StoreEntry, defaultId: string): ModelInfo {
  return {
    model_id: entry.id,
    scale: entry.scale,
    architecture: entry.architecture ?? entry.kind,
    description: entry.description ?? '',
    installed: entry.installed,
    default: entry.id === defaultId,
  };
}

export function registerModelRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store, models, faces, config } = ctx;
  const info = (entry: StoreEntry) => modelInfo(entry, config.defaultModel);
  const listModels = async () => (await store.list()).filter((e) => e.kind === 'upscaler').map(info);
  const mustExist = async (id: string) => {
    if (!(await store.has(id))) throw new ModelNotFoundError(`model_id: no model "${id}"`, { details: { id } });
  };

  app.post(ROUTES.getAllModels, async (request) => {
    authenticate(ctx.keys, request);
    parseBody(GetAllModelsRequestSchema, request);
    const entries = await store.list();
    return {
      status: 'success',
      models: entries.filter((e) => e.kind === 'upscaler').map(info),
      face_enhance: faceEnhanceInfo(faces.ids, entries),
    };
  });

  app.post(ROUTES.loadModel, async (request) => {
    authenticate(ctx.keys, request, { admin: true });
    const body = parseBody(LoadModelRequestSchema, request);
    let file = body.path === undefined ? undefined : await resolveModelImportPath(body.path, config.modelImportDirs, config.maxModelBytes);
    let temp: string | undefined;
    try {
      if (body.url) {
        const response = await safeFetch(body.url, {
          maxBytes: config.maxModelBytes,
          timeoutMs: MODEL_DOWNLOAD_TIMEOUT_MS,
          allowPrivate: config.allowPrivateUrls,
        });
        const dir = join(config.dataDir, 'tmp');
        await mkdir(dir, { recursive: true });
        temp = join(dir, `model-${randomBytes(8).toString('hex')}`);
        await writeFile(temp, response.body);
        file = temp;
      }
      // Streamed: a model file may be a gigabyte, and hashing it whole would hold the event loop.
      const actual = await sha256File(file!);
      if (body.sha256 && body.sha256 !== actual) {
        throw new ChecksumError(`sha256: the file's sha256 is ${actual}, expected ${body.sha256}; nothing was stored`, {
          details: { expected: body.sha256, actual },
        });
      }
      await store.import(file!, { id: body.model_id, pool: ctx.pool });
      await Promise.all([models.evict(body.model_id), faces.evictIfUsed(body.model_id)]);
    } finally {
      if (temp) await rm(temp, { force: true });
    }
    const model = (await store.list()).find((e) => e.id === body.model_id);
    return { status: 'success', message: `Model "${body.model_id}" loaded`, ...(model ? { model: info(model) } : {}) };
  });

  app.post(ROUTES.verifyModel, async (request) => {
    authenticate(ctx.keys, request, { admin: true });
    const body = parseBody(VerifyModelRequestSchema, request);
    await mustExist(body.model_id);
    const [result] = await store.verify(body.model_id);
    const verified = result?.status === 'ok';
    const message =
      result?.status === 'missing'
        ? 'The weights are not on this server yet (they are downloaded at first use)'
        : result?.status === 'mismatch'
          ? `The weights do not match: sha256 ${result.actual}, expected ${result.expected}`
          : result?.status === 'unrecorded'
            ? 'No sha256 is known for these weights'
            : 'The weights match their sha256';
    return { status: 'success', model_id: body.model_id, verified, ...(result?.actual ? { sha256: result.actual } : {}), message };
  });

  app.post(ROUTES.deleteModel, async (request) => {
    authenticate(ctx.keys, request, { admin: true });
    const body = parseBody(DeleteModelRequestSchema, request);
    await mustExist(body.model_id);
    await Promise.all([models.evict(body.model_id), faces.evictIfUsed(body.model_id)]);
    const removed = await store.remove(body.model_id);
    return { status: 'success', message: `Deleted model "${body.model_id}" (${removed.length} file(s))` };
  });

  // The weights as stored, for clients that run models themselves (the browser demo). Catalog
  // weights are public anyway; an imported model is the operator's, so it needs an admin key.
  app.post(ROUTES.downloadModel, async (request, reply) => {
    const identity = authenticate(ctx.keys, request);
    const body = parseBody(DownloadModelRequestSchema, request);
    const entry = (await store.list()).find((e) => e.id === body.model_id);
    if (!entry) throw new ModelNotFoundError(`model_id: no model "${body.model_id}"`, { details: { id: body.model_id } });
    if (entry.source === 'imported' && !identity.admin) throw new ServerError('E_FORBIDDEN', 'An imported model can be downloaded with an admin key only');
    const info = entry.installed ? await stat(entry.path).catch(() => undefined) : undefined;
    if (!info?.isFile()) {
      throw new ModelNotFoundError(`model_id: "${body.model_id}" is not installed on this server (its weights are downloaded at its first job)`, {
        details: { id: body.model_id },
      });
    }
    const name = `${entry.id}${extname(basename(entry.path))}`.replace(/[^\w.+-]/g, '_');
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(info.size))
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-superres-architecture', entry.architecture ?? entry.kind)
      .header('x-superres-scale', String(entry.scale))
      .send(createReadStream(entry.path));
  });

  app.post(ROUTES.systemDetails, async (request) => {
    authenticate(ctx.keys, request, { admin: true });
    parseBody(SystemDetailsRequestSchema, request);
    const { stats } = ctx.metrics;
    const answer: SystemDetailsResponse = {
      status: 'success',
      version: ctx.version,
      models: await listModels(),
      queue: {
        backend: ctx.queueBackend,
        waiting: stats.waiting,
        active: stats.active,
        concurrency: config.concurrency,
        completed: stats.completed,
        failed: stats.failed,
      },
      storage: ctx.storage.kind ?? 'custom',
      backend: `onnxruntime-node (cpu, ${ctx.pool.size} worker(s) x ${ctx.pool.threads} thread(s))`,
      uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    };
    return answer;
  });

  app.post(ROUTES.clearCache, async (request) => {
    authenticate(ctx.keys, request, { admin: true });
    parseBody(ClearCacheRequestSchema, request);
    const cleared = await ctx.storage.clear();
    const unloaded = (await models.clear()) + (await faces.cache.clear());
    return { status: 'success', message: `Deleted ${cleared} stored object(s); unloaded ${unloaded} model(s)`, cleared };
  });
}
