import {
  BackendError,
  InvalidOptionError,
  fromSession,
  type InferenceBackend,
  type InferenceSession,
  type LoadedModel,
  type ModelKind,
  type ModelPlugin,
  type SessionOptions,
} from '@superres/core';
import { checkDenoise, needsDenoisePartner, DENOISE_MODEL_ID, DENOISE_PARTNER_ID } from '../catalog/denoise.js';
import { checkpointConversionOf } from '../convert/checkpoint-plugin.js';
import { createNodeBackend } from './backend.js';
import { sharedWorkerPool } from './pool/shared-pool.js';
import type { WorkerPool } from './pool/worker-pool.js';
import { onnxCacheKey } from './store/onnx-cache.js';
import { createModelStore, type ModelStore, type PullOptions } from './store/store.js';

export interface LoadCatalogModelOptions extends SessionOptions, PullOptions {
  /** Default: createModelStore() (SUPERRES_MODELS_DIR, ...). */
  store?: ModelStore;
  /** The workers that convert and run it; default: the process's shared pool. */
  pool?: WorkerPool;
  /**
   * realesr-general-x4v3 only: 0 (weak denoise, keeps noise) .. 1 (strong denoise, the model as
   * released). Anything but 1 blends in realesr-general-wdn-x4v3, downloading it if needed.
   */
  denoise?: number;
}

/**
 * Opens a catalog or imported model by id: weights verified (downloaded when absent), the
 * converted ONNX graph taken from the store's cache (built and cached on a miss).
 */
export async function loadCatalogModel(id: string, options: LoadCatalogModelOptions = {}): Promise<LoadedModel> {
  const { plugin, session } = await openCatalogSession(id, 'upscaler', options);
  return fromSession(plugin, session);
}

/** A catalog or imported model's plugin and a live session on its graph. */
export interface OpenedModel {
  plugin: ModelPlugin;
  session: InferenceSession;
}

/** Like loadCatalogModel, for a model of any kind: refuses one that is not a `kind`. */
export async function openCatalogSession(id: string, kind: ModelKind, options: LoadCatalogModelOptions = {}): Promise<OpenedModel> {
  const { denoise, signal, onProgress } = options;
  if (denoise !== undefined) {
    checkDenoise(denoise);
    if (id !== DENOISE_MODEL_ID) {
      throw new InvalidOptionError(`Option denoise applies only to ${DENOISE_MODEL_ID}, not to "${id}"`, {
        details: { option: 'denoise' },
      });
    }
  }
  const session: SessionOptions = { threads: options.threads, device: options.device, graphOptimization: options.graphOptimization };
  const pool = options.pool ?? sharedWorkerPool();
  const backend = createNodeBackend({ ...session, pool });
  const store = options.store ?? createModelStore();
  checkKind(await store.plugin(id), kind);
  const weights = await store.load(id, { signal, onProgress });
  if (weights.format === 'onnx') {
    return { plugin: weights.plugin, session: await backend.createSession(weights.bytes, session) };
  }

  let key = onnxCacheKey({ sha256: weights.sha256 });
  const checkpoint = checkpointConversionOf(weights.plugin);
  // Catalog and imported checkpoints convert in a worker; a user's own plugin runs its toOnnx here.
  let build = checkpoint
    ? async () => (await pool.convert({ kind: 'checkpoint', bytes: weights.bytes, ...checkpoint }, { signal })).onnx
    : () => weights.plugin.toOnnx(weights.bytes, { signal });
  if (needsDenoisePartner(denoise)) {
    const partner = await store.load(DENOISE_PARTNER_ID, { signal, onProgress });
    key = onnxCacheKey({ sha256: weights.sha256, denoise: { value: denoise, partnerSha256: partner.sha256 } });
    build = async () => (await pool.convert({ kind: 'denoise', x4v3: weights.bytes, wdn: partner.bytes, denoise }, { signal })).onnx;
  }
  const cached = await store.cachedOnnx(key, build);
  return { plugin: weights.plugin, session: await openCached(backend, session, cached, () => rebuild(store, key, build)) };
}

const KIND_WORDS: Record<ModelKind, string> = {
  upscaler: 'an upscaler',
  'face-restorer': 'a face restorer',
  'face-detector': 'a face detector',
  'face-parser': 'a face parser',
};

/** A face restorer where an upscaler is wanted (and the like) is a mistake worth naming. */
export function checkKind(plugin: Pick<ModelPlugin, 'id' | 'kind'>, kind: ModelKind): void {
  if (plugin.kind !== kind) {
    throw new InvalidOptionError(`Model "${plugin.id}" is ${KIND_WORDS[plugin.kind] ?? plugin.kind}, not ${KIND_WORDS[kind]}`, {
      details: { option: 'model', id: plugin.id, kind: plugin.kind, expected: kind },
    });
  }
}

/**
 * A cached graph the runtime cannot parse (damaged on disk) is rebuilt once. Other failures
 * (a missing device, ...) would fail the same way on a rebuilt graph, so they are not retried.
 */
async function openCached(
  backend: InferenceBackend,
  options: SessionOptions,
  cached: { bytes: Uint8Array; hit: boolean },
  again: () => Promise<Uint8Array>,
): Promise<InferenceSession> {
  try {
    return await backend.createSession(cached.bytes, options);
  } catch (error) {
    if (!cached.hit || !(error instanceof BackendError) || !/protobuf|parse|load model/i.test(error.message)) throw error;
    return backend.createSession(await again(), options);
  }
}

async function rebuild(store: ModelStore, key: string, build: () => Promise<Uint8Array>): Promise<Uint8Array> {
  await store.dropOnnx(key);
  return (await store.cachedOnnx(key, build)).bytes;
}
