/**
 * core's FaceModels over three sessions (RetinaFace, GFPGANv1Clean, ParseNet graphs built by this
 * package), with the reference's conversions: the detector sees BGR 0-255 planes (its graph
 * subtracts the mean); the restorer and the parser see RGB in [-1, 1]; the restorer's output is
 * clamped to [-1, 1] and turned into 8 bits as basicsr's tensor2img does (float32, x255, round half
 * to even).
 */
import { BackendError, roundHalfEven, type AbortSignalLike, type FaceModels, type FoundFace, type Image, type InferenceSession } from '@superres/core';
import { decodeRetinaFace, type DecodeOptions } from './retinaface-decode.js';

export interface FaceSessions {
  detector: InferenceSession;
  restorer: InferenceSession;
  /** Absent: faces are pasted through the plain eroded and blurred mask. */
  parser?: InferenceSession;
  /** Detection thresholds; FaceRestoreHelper's 0.97 and 0.4 by default. */
  detection?: DecodeOptions;
}

const f32 = Math.fround;

/** 8-bit RGB pixels to RGB planes in [-1, 1], as the reference normalises them in float32. */
function toUnitPlanes(image: Image): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = f32(f32(f32(image.data[p * 3 + c]! / 255) - 0.5) / 0.5);
  }
  return out;
}

export type DetectFaces = FaceModels['detect'];

/** Faces on an 8-bit RGB image through a RetinaFace session: boxes, scores, five landmarks, best first. */
export function createFaceDetector(detector: InferenceSession, detection?: DecodeOptions): DetectFaces {
  if (!detector.runNamed) throw new BackendError('Face detection needs a backend that runs named outputs (runNamed)');
  return async (image, signal): Promise<FoundFace[]> => {
    const plane = image.width * image.height;
    const bgr = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) {
      bgr[p] = image.data[p * 3 + 2]!;
      bgr[plane + p] = image.data[p * 3 + 1]!;
      bgr[2 * plane + p] = image.data[p * 3]!;
    }
    const out = await detector.runNamed!({ image: { data: bgr, dims: [1, 3, image.height, image.width] } }, { transfer: true, ...(signal ? { signal } : {}) });
    return decodeRetinaFace({ loc: out.loc!.data, conf: out.conf!.data, landms: out.landms!.data }, image.width, image.height, detection);
  };
}

export function createFaceModels(sessions: FaceSessions): FaceModels {
  const { restorer, parser } = sessions;
  return {
    detect: createFaceDetector(sessions.detector, sessions.detection),

    async restore(crop, signal): Promise<Image> {
      const out = await restorer.run({ data: toUnitPlanes(crop), dims: [1, 3, crop.height, crop.width] }, { transfer: true, ...(signal ? { signal } : {}) });
      const plane = crop.width * crop.height;
      const data = new Uint8Array(plane * 3);
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) {
          const v = Math.min(1, Math.max(-1, out.data[c * plane + p]!));
          data[p * 3 + c] = roundHalfEven(f32(f32(f32(v + 1) / 2) * 255));
        }
      }
      return { width: crop.width, height: crop.height, channels: 3, bitDepth: 8, data };
    },

    ...(parser && {
      async parse(face: Image, signal?: AbortSignalLike) {
        const out = await parser.run({ data: toUnitPlanes(face), dims: [1, 3, face.height, face.width] }, { transfer: true, ...(signal ? { signal } : {}) });
        return { logits: out.data, classes: out.dims[1]! };
      },
    }),
  };
}
