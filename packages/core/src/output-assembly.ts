/**
 * Where stitched tiles go. At the model's native scale, straight into the output image. At any
 * other scale, into a band of native rows (one row of tiles high) that is resampled into the
 * output as soon as it is complete and then reused: the native-size image never exists whole.
 */
import { fillOpaqueAlpha, resizeAlphaInto } from './alpha.js';
import type { Image } from './image.js';
import { createImage, hasAlpha } from './image.js';
import { createLanczosStream } from './resample.js';
import type { Slicer } from './schedule.js';

/** Rows resampled or alpha-resized between two chances for the event loop to run. */
const ROWS_PER_SLICE_CHECK = 4;

export interface OutputAssembly {
  readonly output: Image;
  /** The image the current band's tiles are stitched into, and the native row its row 0 is. */
  target(band: BandRows): { image: Image; originY: number };
  /** Called once every tile of a band is stitched. */
  bandDone(band: BandRows, slicer: Slicer): Promise<void>;
}

/** A band: native output rows `y` .. `y + height - 1`. */
export interface BandRows {
  y: number;
  height: number;
}

export interface AssemblyInput {
  source: Image;
  /** Native (model scale) output size. */
  nativeWidth: number;
  nativeHeight: number;
  /** Final size. */
  width: number;
  height: number;
  /** Tallest band, in native rows. */
  maxBandHeight: number;
  /**
   * Where the output's alpha comes from (images with alpha): 'stitched' from the model's alpha
   * pass, 'resize' resized from the source (alpha 'resize'), 'opaque' the maximum everywhere (a
   * source whose alpha is all maximum: no alpha pass). Ignored for images without alpha.
   */
  alpha: 'stitched' | 'resize' | 'opaque';
}

export function createOutputAssembly(input: AssemblyInput): OutputAssembly {
  const { source } = input;
  const direct = input.width === input.nativeWidth && input.height === input.nativeHeight;
  const output = createImage(input.width, input.height, source.channels, source.bitDepth);
  const alpha = hasAlpha(source.channels) ? input.alpha : 'stitched';
  /** Writes the band's alpha where no tile does: resized from the source, or opaque. */
  const resizeAlpha = async (image: Image, originY: number, band: BandRows, slicer: Slicer) => {
    if (alpha === 'stitched') return;
    for (let y = band.y - originY; y < band.y - originY + band.height; y += ROWS_PER_SLICE_CHECK) {
      const to = Math.min(y + ROWS_PER_SLICE_CHECK, band.y - originY + band.height);
      if (alpha === 'opaque') fillOpaqueAlpha(image, y, to);
      else resizeAlphaInto(source, image, { fullHeight: input.nativeHeight, originY, from: y, to });
      await slicer.pause();
    }
  };
  if (direct) {
    return {
      output,
      target: () => ({ image: output, originY: 0 }),
      bandDone: (band, slicer) => resizeAlpha(output, 0, band, slicer),
    };
  }
  const bandImage = createImage(input.nativeWidth, Math.min(input.maxBandHeight, input.nativeHeight), source.channels, source.bitDepth);
  const stream = createLanczosStream(
    { width: input.nativeWidth, height: input.nativeHeight, channels: source.channels, bitDepth: source.bitDepth },
    output,
  );
  return {
    output,
    target: (band) => ({ image: bandImage, originY: band.y }),
    async bandDone(band, slicer) {
      await resizeAlpha(bandImage, band.y, band, slicer);
      for (let y = band.y; y < band.y + band.height; y += ROWS_PER_SLICE_CHECK) {
        const count = Math.min(ROWS_PER_SLICE_CHECK, band.y + band.height - y);
        stream.push(bandImage, y, count, band.y);
        await slicer.pause();
      }
    },
  };
}
