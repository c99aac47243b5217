/**
 * Pasting restored faces back into the upscaled image, as facexlib's
 * `paste_faces_to_input_image` does with parsing (docs/research/face-enhance-upstream.md, 3.5 and
 * 3.6): each 512x512 restored face and its soft mask are warped into the output by the inverse of
 * the face's alignment scaled by the upscale factor (plus facexlib's 0.5 x upscale offset when
 * upscaling), and blended over the image in double precision, face after face. Alpha is kept
 * from the background. One deliberate difference: the result is rounded and clipped to 8 bits,
 * where upstream truncates without clipping.
 */
import { createImage, type Image } from './image.js';
import { invertAffine, type Affine } from './similarity-transform.js';
import { warpAffine, warpAffineLinearPlane } from './warp-affine.js';

export interface RestoredFace {
  /** The restored face, 8-bit RGB, in the aligned crop's geometry. */
  readonly face: Image;
  /** The alignment: input image -> crop (estimateSimilarityLmeds' matrix). */
  readonly affine: Affine;
  /** The soft mask in the crop's geometry, face.width x face.height, in [0, 1]. */
  readonly mask: Float64Array;
}

/** The crop -> output matrix facexlib pastes with: inverse x upscale, + 0.5 x upscale when upscaling. */
export function pasteBackMatrix(affine: Affine, upscale: number): Affine {
  const inv = invertAffine(affine).map((v) => v * upscale);
  const offset = upscale > 1 ? 0.5 * upscale : 0;
  return [inv[0]!, inv[1]!, inv[2]! + offset, inv[3]!, inv[4]!, inv[5]! + offset];
}

/** The blended image in double precision (RGB planes interleaved), before rounding. */
export function blendFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Float64Array {
  if (background.bitDepth !== 8 || background.channels < 3) throw new RangeError('blendFaces: an 8-bit RGB or RGBA background');
  const { width, height, channels } = background;
  const out = new Float64Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = background.data[p * channels + c]!;
  for (const { face, affine, mask } of faces) {
    const matrix = pasteBackMatrix(affine, upscale);
    const pasted = warpAffine(face, matrix, width, height);
    const soft = warpAffineLinearPlane(mask, face.width, face.height, matrix, width, height);
    for (let p = 0; p < width * height; p++) {
      const m = soft[p]!;
      if (m === 0) continue;
      for (let c = 0; c < 3; c++) out[p * 3 + c] = m * pasted.data[p * 3 + c]! + (1 - m) * out[p * 3 + c]!;
    }
  }
  return out;
}

/** The background with the faces pasted in, 8-bit, alpha kept. */
export function pasteFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Image {
  const blended = blendFaces(background, faces, upscale);
  const { width, height, channels } = background;
  const out = createImage(width, height, channels, 8);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(blended[p * 3 + c]!);
      out.data[p * channels + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    if (channels === 4) out.data[p * 4 + 3] = background.data[p * 4 + 3]!;
  }
  return out;
}
