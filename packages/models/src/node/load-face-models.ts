/**
 * Face enhancement's three models opened through the same store, converter workers and inference
 * workers as the upscalers: each named by a catalog/imported id or a checkpoint file. Weights that
 * are absent and cannot be downloaded are all named in one error, with where each was looked for
 * and how to supply it, before anything is converted.
 */
import { DownloadError, ChecksumError, isSuperresError, type FaceModels, type ModelKind, type SessionOptions } from '@superres/core';
import { DEFAULT_FACE_MODELS } from '../catalog/face-catalog.js';
import type { DecodeOptions } from '../faces/retinaface-decode.js';
import { createFaceDetector, createFaceModels, type DetectFaces } from '../faces/face-models.js';
import { openCatalogSession, type OpenedModel } from './load-catalog-model.js';
import { openModelFile } from './load-model-file.js';
import { sharedWorkerPool } from './pool/shared-pool.js';
import type { WorkerPool } from './pool/worker-pool.js';
import { createModelStore, type ModelStore, type PullOptions } from './store/store.js';

/** A catalog or imported model's id, or a checkpoint file on disk. */
export type FaceModelRef = string | { file: string };

export interface LoadFaceModelsOptions extends SessionOptions, PullOptions {
  /** Restorer; default GFPGANv1.4. */
  restorer?: FaceModelRef;
  /** Detector; default retinaface_resnet50. */
  detector?: FaceModelRef;
  /** Parser, or false for the plain eroded and blurred mask; default parsenet. */
  parser?: FaceModelRef | false;
  /** Detection thresholds (FaceRestoreHelper's score 0.97, NMS 0.4 by default). */
  detection?: DecodeOptions;
  store?: ModelStore;
  pool?: WorkerPool;
}

export interface LoadedFaceModels extends FaceModels {
  /** What was opened, by role: the id, or the file's path. */
  readonly names: { restorer: string; detector: string; parser?: string };
  release(): Promise<void>;
}

type Role = 'restorer' | 'detector' | 'parser';
const KIND: Record<Role, ModelKind> = { restorer: 'face-restorer', detector: 'face-detector', parser: 'face-parser' };

export async function loadFaceModels(options: LoadFaceModelsOptions = {}): Promise<LoadedFaceModels> {
  const store = options.store ?? createModelStore();
  const pool = options.pool ?? sharedWorkerPool();
  const refs: Partial<Record<Role, FaceModelRef>> = {
    restorer: options.restorer ?? DEFAULT_FACE_MODELS.restorer,
    detector: options.detector ?? DEFAULT_FACE_MODELS.detector,
    ...(options.parser === false ? {} : { parser: options.parser ?? DEFAULT_FACE_MODELS.parser }),
  };
  const roles = (Object.keys(refs) as Role[]).map((role) => ({ role, ref: refs[role]! }));
  const nameOf = (ref: FaceModelRef) => (typeof ref === 'string' ? ref : ref.file);
  const names = { restorer: nameOf(refs.restorer!), detector: nameOf(refs.detector!), ...(refs.parser ? { parser: nameOf(refs.parser) } : {}) };
  await ensureWeights(store, roles.flatMap((r) => (typeof r.ref === 'string' ? [r.ref] : [])), options);

  const session: SessionOptions = { threads: options.threads, device: options.device, graphOptimization: options.graphOptimization };
  const opened: Partial<Record<Role, OpenedModel>> = {};
  try {
    for (const { role, ref } of roles) {
      opened[role] =
        typeof ref === 'string'
          ? await openCatalogSession(ref, KIND[role], { ...session, store, pool, signal: options.signal, onProgress: options.onProgress })
          : await openModelFile(ref.file, KIND[role], { ...session, pool, ...(options.signal ? { signal: options.signal } : {}) });
    }
  } catch (error) {
    await Promise.all(Object.values(opened).map((o) => o.session.release()));
    throw error;
  }
  const models = createFaceModels({
    restorer: opened.restorer!.session,
    detector: opened.detector!.session,
    ...(opened.parser ? { parser: opened.parser.session } : {}),
    ...(options.detection ? { detection: options.detection } : {}),
  });
  return {
    ...models,
    names,
    release: async () => {
      await Promise.all(Object.values(opened).map((o) => o.session.release()));
    },
  };
}

/** Downloads what is absent; what cannot be had is reported all at once, each file with its remedy. */
export interface LoadedFaceDetector {
  readonly name: string;
  detect: DetectFaces;
  release(): Promise<void>;
}

/** The detector alone (`superres faces detect`): same resolution, download and error rules. */
export async function loadFaceDetector(
  options: Omit<LoadFaceModelsOptions, 'restorer' | 'parser'> = {},
): Promise<LoadedFaceDetector> {
  const store = options.store ?? createModelStore();
  const pool = options.pool ?? sharedWorkerPool();
  const ref = options.detector ?? DEFAULT_FACE_MODELS.detector;
  if (typeof ref === 'string') await ensureWeights(store, [ref], options);
  const session: SessionOptions = { threads: options.threads, device: options.device, graphOptimization: options.graphOptimization };
  const opened =
    typeof ref === 'string'
      ? await openCatalogSession(ref, 'face-detector', { ...session, store, pool, signal: options.signal, onProgress: options.onProgress })
      : await openModelFile(ref.file, 'face-detector', { ...session, pool, ...(options.signal ? { signal: options.signal } : {}) });
  return {
    name: typeof ref === 'string' ? ref : ref.file,
    detect: createFaceDetector(opened.session, options.detection),
    release: () => opened.session.release(),
  };
}

async function ensureWeights(store: ModelStore, ids: readonly string[], options: PullOptions): Promise<void> {
  const missing: { id: string; url?: string; path: string; reason: string }[] = [];
  const entries = new Map((await store.list()).map((e) => [e.id, e]));
  for (const id of ids) {
    const plugin = await store.plugin(id); // unknown ids fail here, by name
    try {
      await store.resolve(id, options);
    } catch (error) {
      if (error instanceof ChecksumError || !isSuperresError(error) || error.code !== 'E_DOWNLOAD') throw error;
      // The store's message carries its own remedies; this one lists them once for every file.
      const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message;
      missing.push({ id, url: entries.get(id)?.url ?? plugin.weights?.url, path: entries.get(id)?.path ?? store.dir, reason });
    }
  }
  if (missing.length === 0) return;
  const lines = missing.map((m) => `- ${m.id}: looked for at ${m.path}; ${m.reason}`);
  const fileNames = missing.map((m) => m.url?.slice(m.url.lastIndexOf('/') + 1)).filter(Boolean);
  throw new DownloadError(
    [
      `Face models need weights that are not in ${store.dir} and could not be downloaded:`,
      ...lines,
      `Supply them by copying each file to the path shown, or set SUPERRES_MODELS_BASE_URL to a mirror that serves ${fileNames.join(', ')}, or use other face models (imported, or checkpoint files).`,
    ].join('\n'),
    { details: { missing: missing.map(({ id, url, path }) => ({ id, url, path })) } },
  );
}
