/**
 * Face enhancement's flow, as GFPGANer runs it (docs/research/face-enhance-upstream.md, 2.2 and 3):
 * faces are found on the input, each aligned to the 512x512 FFHQ template (LMEDS similarity, a
 * bilinear crop with a (132, 133, 135) border), restored, parsed into a soft mask, and pasted into
 * the upscaled background. The models are behind FaceModels, so the flow runs on any backend.
 */
import { InvalidOptionError, throwIfAborted } from './errors.js';
import type { AbortSignalLike } from './signal.js';
import type { Image } from './image.js';
import type { FaceProgress } from './progress.js';
import { now } from './schedule.js';
import { pasteFaces, type RestoredFace } from './paste-faces.js';
import { FFHQ_TEMPLATE_512, estimateSimilarityLmeds, type Point } from './similarity-transform.js';
import { faceMaskFromParsing } from './face-mask.js';
import { warpAffine } from './warp-affine.js';

export interface FoundFace {
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  /** Eyes, nose, mouth corners (image-left first), in input pixels. */
  readonly landmarks: readonly Point[];
}

export interface FaceModels {
  /** Faces on an 8-bit RGB image, best first. */
  detect(image: Image, signal?: AbortSignalLike): Promise<FoundFace[]>;
  /** An aligned 512x512 8-bit RGB crop, restored (same size, 8-bit RGB). */
  restore(crop: Image, signal?: AbortSignalLike): Promise<Image>;
  /**
   * Parsing logits [classes, 512, 512] of a restored face. Absent: faces are pasted through
   * facexlib's plain mask (eroded and blurred) instead of the parsing mask.
   */
  parse?(face: Image, signal?: AbortSignalLike): Promise<{ logits: Float32Array; classes: number }>;
}

export interface EnhanceFacesOptions {
  /** The background's size over the input's. */
  upscale: number;
  /** Only the face nearest the centre (GFPGANer's only_center_face). */
  onlyCenterFace?: boolean;
  /** Faces whose eyes are closer than this many pixels are left alone (5, as GFPGANer). */
  eyeDistThreshold?: number;
  signal?: AbortSignalLike;
  /** Called once the faces are found, then after each is restored. */
  onProgress?: (progress: FaceProgress) => void;
}

const CROP = 512;
const CROP_BORDER_RGB = [132, 133, 135];

/** The input as face detection and cropping see it: 8-bit RGB (gray replicated, alpha dropped, 16-bit scaled). */
export function toRgb8(image: Image): Image {
  if (image.bitDepth === 8 && image.channels === 3) return image;
  const { width, height, channels } = image;
  const data = new Uint8Array(width * height * 3);
  const scale = image.bitDepth === 16 ? 1 / 257 : 1;
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const source = channels >= 3 ? c : 0; // gray (and gray + alpha): replicated
      data[p * 3 + c] = Math.round(image.data[p * channels + source]! * scale);
    }
  }
  return { width, height, channels: 3, bitDepth: 8, data };
}

/** The faces GFPGANer would restore, in detection order. */
export function selectFaces(faces: readonly FoundFace[], width: number, height: number, options: Pick<EnhanceFacesOptions, 'onlyCenterFace' | 'eyeDistThreshold'> = {}): FoundFace[] {
  const threshold = options.eyeDistThreshold ?? 5;
  const kept = faces.filter((f) => Math.hypot(f.landmarks[0]![0] - f.landmarks[1]![0], f.landmarks[0]![1] - f.landmarks[1]![1]) >= threshold);
  if (!options.onlyCenterFace || kept.length === 0) return kept;
  const distance = (f: FoundFace) => Math.hypot((f.box[0] + f.box[2]) / 2 - width / 2, (f.box[1] + f.box[3]) / 2 - height / 2);
  return [kept.reduce((best, f) => (distance(f) < distance(best) ? f : best))];
}

/** `background` (the input upscaled by `options.upscale`, in any of core's formats) with the input's faces restored in it, in its format. */
export async function enhanceFaces(input: Image, background: Image, models: FaceModels, options: EnhanceFacesOptions): Promise<Image> {
  const image = toRgb8(input);
  const started = now();
  const found = await models.detect(image, options.signal);
  const restored: RestoredFace[] = [];
  const selected = selectFaces(found, image.width, image.height, options);
  let done = 0;
  const report = () => options.onProgress?.({ stage: 'faces', facesDone: done, facesTotal: selected.length, elapsedMs: Math.round(now() - started) });
  report();
  for (const face of selected) {
    throwIfAborted(options.signal);
    const estimate = estimateSimilarityLmeds(face.landmarks, FFHQ_TEMPLATE_512);
    if (!estimate) continue;
    const crop = warpAffine(image, estimate.matrix, CROP, CROP, { borderValue: CROP_BORDER_RGB });
    const better = await models.restore(crop, options.signal);
    if (better.width !== CROP || better.height !== CROP || better.channels !== 3 || better.bitDepth !== 8) {
      throw new InvalidOptionError(
        `The face restorer returned a ${better.width}x${better.height} image of ${better.channels} channels, ${better.bitDepth}-bit; face enhancement needs ${CROP}x${CROP} 8-bit RGB (a restorer built for ${CROP}x${CROP} faces)`,
        { details: { option: 'faceEnhance' } },
      );
    }
    if (models.parse) {
      const { logits, classes } = await models.parse(better, options.signal);
      restored.push({ face: better, affine: estimate.matrix, mask: faceMaskFromParsing(logits, classes, CROP) });
    } else {
      restored.push({ face: better, affine: estimate.matrix });
    }
    done++;
    report();
  }
  throwIfAborted(options.signal);
  return pasteFaces(background, restored, options.upscale);
}
