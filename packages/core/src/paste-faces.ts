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
import type { Image } from './image.js';
import { invertAffine, type Affine } from './similarity-transform.js';
import { warpAffine, warpAffineLinearPlane, type WarpRegion } from './warp-affine.js';
import { plainFaceMasks } from './face-mask-plain.js';

export interface RestoredFace {
  /** The restored face, 8-bit RGB, in the aligned crop's geometry. */
  readonly face: Image;
  /** The alignment: input image -> crop (estimateSimilarityLmeds' matrix). */
  readonly affine: Affine;
  /**
   * The soft mask in the crop's geometry, face.width x face.height, in [0, 1] (from face
   * parsing); absent: facexlib's plain mask, eroded and blurred in the output (face-mask-plain.ts).
   */
  readonly mask?: Float64Array;
}

/** The crop -> output matrix facexlib pastes with: inverse x upscale, + 0.5 x upscale when upscaling. */
export function pasteBackMatrix(affine: Affine, upscale: number): Affine {
  const inv = invertAffine(affine).map((v) => v * upscale);
  const offset = upscale > 1 ? 0.5 * upscale : 0;
  return [inv[0]!, inv[1]!, inv[2]! + offset, inv[3]!, inv[4]!, inv[5]! + offset];
}

/** Where a face can land in the output: its crop's corners through `matrix`, a pixel of margin, clamped. */
function footprint(matrix: Affine, face: Image, width: number, height: number): WarpRegion | undefined {
  const corners = [
    [0, 0],
    [face.width, 0],
    [0, face.height],
    [face.width, face.height],
  ].map(([x, y]) => [matrix[0] * x! + matrix[1] * y! + matrix[2], matrix[3] * x! + matrix[4] * y! + matrix[5]] as const);
  const x0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[0]))) - 2);
  const y0 = Math.max(0, Math.floor(Math.min(...corners.map((c) => c[1]))) - 2);
  const x1 = Math.min(width, Math.ceil(Math.max(...corners.map((c) => c[0]))) + 2);
  const y1 = Math.min(height, Math.ceil(Math.max(...corners.map((c) => c[1]))) + 2);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : undefined;
}

export interface Blend {
  /** The part of the output the faces can touch (the union of their footprints), or undefined. */
  region?: WarpRegion;
  /** That part, blended in double precision: 3 interleaved RGB values per pixel, the background's range. */
  values: Float64Array;
}

/**
 * The faces blended over the background in double precision. Only the union of the faces'
 * footprints is computed and held: a face covers a small part of a large upscaled image.
 */
export function blendFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Blend {
  const { width, height, channels } = background;
  type Placed = { face: Image; matrix: Affine; region: WarpRegion; soft: Float64Array; weight?: Float64Array };
  const placed = faces.flatMap((f): Placed[] => {
    const matrix = pasteBackMatrix(f.affine, upscale);
    const region = footprint(matrix, f.face, width, height);
    if (!region) return [];
    if (f.mask) return [{ face: f.face, matrix, region, soft: warpAffineLinearPlane(f.mask, f.face.width, f.face.height, matrix, width, height, region) }];
    const plain = plainFaceMasks(matrix, f.face.width, upscale, width, height, region);
    return [{ face: f.face, matrix, region: plain.region, soft: plain.soft, weight: plain.eroded }];
  });
  if (placed.length === 0) return { values: new Float64Array(0) };
  const ux = Math.min(...placed.map((f) => f.region.x));
  const uy = Math.min(...placed.map((f) => f.region.y));
  const region = {
    x: ux,
    y: uy,
    width: Math.max(...placed.map((f) => f.region.x + f.region.width)) - ux,
    height: Math.max(...placed.map((f) => f.region.y + f.region.height)) - uy,
  };
  const color = channels >= 3;
  const faceScale = background.bitDepth === 16 ? 257 : 1;
  const values = new Float64Array(region.width * region.height * 3);
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const src = ((region.y + y) * width + region.x + x) * channels;
      for (let c = 0; c < 3; c++) values[(y * region.width + x) * 3 + c] = background.data[src + (color ? c : 0)]!;
    }
  }
  for (const { face, soft, weight, matrix, region: r } of placed) {
    const pasted = warpAffine(face, matrix, width, height, { region: r });
    for (let y = 0; y < r.height; y++) {
      for (let x = 0; x < r.width; x++) {
        const m = soft[y * r.width + x]!;
        if (m === 0) continue;
        // The plain mask's face is weighed by the once-eroded mask, as facexlib does.
        const w = weight ? weight[y * r.width + x]! * faceScale : faceScale;
        const o = ((r.y - region.y + y) * region.width + r.x - region.x + x) * 3;
        const p = (y * r.width + x) * 3;
        for (let c = 0; c < 3; c++) values[o + c] = m * (w * pasted.data[p + c]!) + (1 - m) * values[o + c]!;
      }
    }
  }
  return { region, values };
}

/**
 * The background (the input upscaled: 8- or 16-bit, gray, gray + alpha, RGB or RGBA) with the
 * faces pasted in, in the background's own format; alpha kept.
 */
export function pasteFaces(background: Image, faces: readonly RestoredFace[], upscale: number): Image {
  const { region, values } = blendFaces(background, faces, upscale);
  const { width, channels, bitDepth } = background;
  const out: Image = { ...background, data: background.data.slice() };
  if (!region) return out;
  const max = bitDepth === 16 ? 65535 : 255;
  const clip = (v: number) => {
    const r = Math.round(v);
    return r < 0 ? 0 : r > max ? max : r;
  };
  const color = channels >= 3;
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const v = (y * region.width + x) * 3;
      const o = ((region.y + y) * width + region.x + x) * channels;
      if (color) {
        for (let c = 0; c < 3; c++) out.data[o + c] = clip(values[v + c]!);
      } else {
        out.data[o] = clip(0.299 * values[v]! + 0.587 * values[v + 1]! + 0.114 * values[v + 2]!);
      }
    }
  }
  return out;
}
