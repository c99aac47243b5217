/**
 * Face enhancement's models from their checkpoint bytes on any InferenceBackend: what a browser
 * (onnxruntime-web) or any host without the Node model store uses. Each checkpoint is converted
 * here (in the caller's thread: a page should call this from a Web Worker) and refused when it is
 * not the kind its role needs.
 */
import { InvalidOptionError, type FaceModels, type InferenceBackend, type InferenceSession, type ModelKind, type SessionOptions } from '@superres/core';
import { convertCheckpoint } from '../convert/convert-checkpoint.js';
import { createFaceModels } from './face-models.js';
import type { DecodeOptions } from './retinaface-decode.js';

export interface FaceWeights {
  /** GFPGANv1Clean checkpoint (.pth or .safetensors). */
  restorer: Uint8Array;
  /** RetinaFace checkpoint. */
  detector: Uint8Array;
  /** ParseNet checkpoint; absent: the plain eroded and blurred mask. */
  parser?: Uint8Array;
}

export interface OpenedFaceModels extends FaceModels {
  release(): Promise<void>;
}

const ROLES: readonly [keyof FaceWeights, ModelKind][] = [
  ['restorer', 'face-restorer'],
  ['detector', 'face-detector'],
  ['parser', 'face-parser'],
];

export async function createFaceModelsFromWeights(
  weights: FaceWeights,
  backend: InferenceBackend,
  options: SessionOptions & { detection?: DecodeOptions } = {},
): Promise<OpenedFaceModels> {
  const { detection, ...session } = options;
  const sessions: Partial<Record<keyof FaceWeights, InferenceSession>> = {};
  try {
    for (const [role, kind] of ROLES) {
      const bytes = weights[role];
      if (!bytes) continue;
      const built = convertCheckpoint(bytes);
      if (built.kind !== kind) {
        throw new InvalidOptionError(`The ${role} weights hold a ${built.architecture} (${built.kind}), not a ${kind}`, { details: { option: role } });
      }
      sessions[role] = await backend.createSession(built.onnx, session);
    }
  } catch (error) {
    await Promise.all(Object.values(sessions).map((s) => s.release()));
    throw error;
  }
  const models = createFaceModels({
    restorer: sessions.restorer!,
    detector: sessions.detector!,
    ...(sessions.parser ? { parser: sessions.parser } : {}),
    ...(detection ? { detection } : {}),
  });
  return { ...models, release: async () => void (await Promise.all(Object.values(sessions).map((s) => s.release()))) };
}
