/**
 * Face enhancement's models in the server: the configured restorer, detector and parser
 * (SUPERRES_FACE_*), opened once at the first face_enhance job and kept like an upscaler; a load
 * that fails (weights missing) is not kept, so supplying the weights makes the next job work.
 */
import { loadFaceModels, type LoadedFaceModels, type ModelStore, type StoreEntry, type WorkerPool } from '@superres/models/node';
import type { FaceEnhanceInfo, FaceModelInfo } from '@superres/sdk';
import type { ServerConfig } from './config.js';
import { createModelCache, type ModelCache } from './model-cache.js';

const KEY = 'faces';
type Role = FaceModelInfo['role'];

export interface FaceModelCache {
  readonly cache: ModelCache<LoadedFaceModels>;
  acquire(): ReturnType<ModelCache<LoadedFaceModels>['acquire']>;
  /** The configured ids by role (no parser: the plain mask). */
  readonly ids: Partial<Record<Role, string>>;
  /** Drops the loaded set when `id` is one of its models (it was replaced or deleted). */
  evictIfUsed(id: string): Promise<void>;
}

type FaceConfig = Pick<ServerConfig, 'faceModel' | 'faceDetector' | 'faceParser'>;

export function faceModelIds(config: FaceConfig): Partial<Record<Role, string>> {
  return { restorer: config.faceModel, detector: config.faceDetector, ...(config.faceParser === 'none' ? {} : { parser: config.faceParser }) };
}

export function createFaceModelCache(config: FaceConfig, store: ModelStore, pool: WorkerPool): FaceModelCache {
  const ids = faceModelIds(config);
  const cache = createModelCache<LoadedFaceModels>(
    () => loadFaceModels({ store, pool, device: 'cpu', restorer: ids.restorer!, detector: ids.detector!, parser: ids.parser ?? false }),
    1,
  );
  return {
    cache,
    ids,
    acquire: () => cache.acquire(KEY),
    evictIfUsed: async (id) => {
      if (Object.values(ids).includes(id)) await cache.evict(KEY);
    },
  };
}

/** What get_all_models says of face enhancement: each configured model and whether its weights are here. */
export function faceEnhanceInfo(ids: Partial<Record<Role, string>>, entries: readonly StoreEntry[]): FaceEnhanceInfo {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const models = (Object.entries(ids) as [Role, string][]).map(([role, id]): FaceModelInfo => {
    const entry = byId.get(id);
    return {
      role,
      model_id: id,
      architecture: entry?.architecture ?? 'unknown',
      description: entry?.description ?? `No model "${id}" is known to this server`,
      installed: entry?.installed ?? false,
      ...(entry?.url && !entry.installed ? { url: entry.url } : {}),
    };
  });
  return { models, missing: models.filter((m) => !m.installed).map((m) => m.model_id) };
}
