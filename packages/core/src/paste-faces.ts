/**
 * Pasting restored faces back into the upscaled image, as facexlib's
 * `paste_faces_to_input_image` does with parsing (docs/research/face-enhance-upstream.md, 3.5 and
 * 3.6): each 512x512 restored face and its soft mask are warped into the output by the inverse of
 * the face's alignment scaled by the upscale factor (plus facexlib's 0.5 x upscale offset when
 * upscaling), and blended over the image in double precision, face after face. Alpha is kept
 * from the background. Deliberate differences from upstream, where it breaks: the result is
 * rounded and clipped (upstream truncates without clipping); a 16-bit background gets the faces
 * scaled to 16 bits (upstream blends 0-255 faces into 0-65535, faces come out black); a gray
 * background stays gray, the faces converted by BT.601 luma (upstream crashes).
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

/** The blended image in double precision, 3 interleaved RGB values per pixel in the background's range, before rounding. */
export function blendFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Float64Array {
  const { width, height, channels } = background;
  const color = channels >= 3;
  const faceScale = background.bitDepth === 16 ? 257 : 1;
  const out = new Float64Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = background.data[p * channels + (color ? c : 0)]!;
  }
  for (const { face, affine, mask } of faces) {
    const matrix = pasteBackMatrix(affine, upscale);
    const pasted = warpAffine(face, matrix, width, height);
    const soft = warpAffineLinearPlane(mask, face.width, face.height, matrix, width, height);
    for (let p = 0; p < width * height; p++) {
      const m = soft[p]!;
      if (m === 0) continue;
      for (let c = 0; c < 3; c++) out[p * 3 + c] = m * pasted.data[p * 3 + c]! * faceScale + (1 - m) * out[p * 3 + c]!;
    }
  }
  return out;
}

/**
 * The background (the input upscaled: 8- or 16-bit, gray, gray + alpha, RGB or RGBA) with the
 * faces pasted in, in the background's own format; alpha kept.
 */
export function pasteFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Image {
  const blended = blendFaces(background, faces, upscale);
  const { width, height, channels, bitDepth } = background;
  const max = bitDepth === 16 ? 65535 : 255;
  const clip = (v: number) => {
    const r = Math.round(v);
    return r < 0 ? 0 : r > max ? max : r;
  };
  const out = createImage(width, height, channels, bitDepth);
  const color = channels >= 3;
  const alpha = channels === 2 || channels === 4;
  for (let p = 0; p < width * height; p++) {
    const o = p * channels;
    if (color) {
      for (let c = 0; c < 3; c++) out.data[o + c] = clip(blended[p * 3 + c]!);
    } else {
      out.data[o] = clip(0.299 * blended[p * 3]! + 0.587 * blended[p * 3 + 1]! + 0.114 * blended[p * 3 + 2]!);
    }
    if (alpha) out.data[o + channels - 1] = background.data[o + channels - 1]!;
  }
  return out;
}
