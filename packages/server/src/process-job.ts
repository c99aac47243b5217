/**
 * Runs one job: download (SSRF-guarded, byte and time limits) -> decode (pixel limit) -> upscale
 * with the cached model -> PNG -> storage. Throws typed errors; the queue records them.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_MEMORY, UnavailableError, upscale } from '@superres/core';
import type { FetchLimits, JobProcessor, Storage } from './contracts.js';
import type { ServerConfig } from './config.js';
import { decodeImage, encodeImage } from '@superres/image-io';
import type { JobProgress } from './job-progress.js';
import type { ModelCache } from './model-cache.js';
import type { FaceModelCache } from './face-models.js';
import { fetchImageBytes } from './net/safe-fetch.js';

export interface JobProcessorDeps {
  config: Pick<
    ServerConfig,
    'maxInputBytes' | 'maxInputPixels' | 'fetchTimeoutMs' | 'allowPrivateUrls' | 'tile' | 'tilePad' | 'maxMemory' | 'concurrency'
  >;
  storage: Storage;
  models: ModelCache;
  /** Face enhancement's models (face_enhance: true); without them such jobs fail as unavailable. */
  faces?: FaceModelCache;
  /** Where running jobs report their estimated time left. */
  progress?: JobProgress;
  /** Downloads an input image; default: the SSRF-guarded fetchImageBytes. */
  fetchImage?: (url: string, limits: FetchLimits & { signal?: AbortSignal }) => Promise<Uint8Array>;
}

/** Waits before the 2nd, 3rd and 4th attempt to store an output (a storage blip is not a failed job). */
export const STORE_RETRY_DELAYS_MS = [500, 2000, 5000];

/** Stores an output, retrying a failed write (S3 briefly away, a full disk freed) before giving up. */
export async function putWithRetry(storage: Storage, key: string, bytes: Uint8Array, signal?: AbortSignal, delays = STORE_RETRY_DELAYS_MS) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await storage.put(key, bytes, 'image/png');
    } catch (error) {
      if (attempt >= delays.length || signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
    }
  }
}

export function fetchLimitsOf(config: JobProcessorDeps['config']): FetchLimits {
  return { maxBytes: config.maxInputBytes, timeoutMs: config.fetchTimeoutMs, allowPrivate: config.allowPrivateUrls };
}

export function createJobProcessor(deps: JobProcessorDeps): JobProcessor {
  const { config, storage, models, faces, progress } = deps;
  // A configured budget is shared by the jobs that run at once; by default each job gets core's.
  const maxMemory =
    config.maxMemory === undefined ? DEFAULT_MAX_MEMORY : Math.max(1, Math.floor(config.maxMemory / Math.max(1, config.concurrency)));
  const fetchImage = deps.fetchImage ?? fetchImageBytes;
  return async (job, signal) => {
    const started = performance.now();
    // An upload or an earlier output of this server is read from its storage: no fetch, so the URL
    // guard keeps refusing this server's own (often private) address.
    const own = await storage.readOwn?.(job.input.url, config.maxInputBytes);
    const bytes = own ?? (await fetchImage(job.input.url, { ...fetchLimitsOf(config), signal }));
    signal.throwIfAborted();
    const image = await decodeImage(bytes, { maxPixels: config.maxInputPixels });
    if (job.input.faceEnhance && !faces) throw new UnavailableError('face enhancement is not configured on this worker: send face_enhance: false');
    const lease = await models.acquire(job.input.modelId);
    let faceLease: Awaited<ReturnType<FaceModelCache['acquire']>> | undefined;
    let encoded: Uint8Array;
    try {
      // Face weights missing fail the job here, naming each file, before any pixel is upscaled.
      if (job.input.faceEnhance) faceLease = await faces!.acquire();
      const { model } = lease;
      const output = await upscale(image, model, {
        tile: config.tile,
        tilePad: config.tilePad,
        maxMemory,
        outscale: job.input.scale ?? model.scale,
        ...(faceLease ? { faceEnhance: { models: faceLease.model } } : {}),
        signal,
        onProgress: progress && ((p) => p.stage === 'inference' && p.etaMs !== undefined && progress.report(job.id, p.etaMs)),
      });
      encoded = await encodeImage(output, { format: 'png' });
    } finally {
      faceLease?.release();
      lease.release();
      progress?.forget(job.id);
    }
    const stored = await putWithRetry(storage, `${randomBytes(16).toString('hex')}.png`, encoded, signal);
    const generationTime = Math.round((performance.now() - started) / 10) / 100;
    return { output: stored.url, generationTime };
  };
}

