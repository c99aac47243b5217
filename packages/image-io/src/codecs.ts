/** What this sharp build offers (for `superres doctor`): its versions and the output formats it writes. */
import sharp from 'sharp';
import type { OutputFormat } from './format.js';

export interface CodecReport {
  sharp: string;
  libvips: string;
  /** The formats superres writes that this build can encode. */
  writes: OutputFormat[];
}

export function codecReport(): CodecReport {
  const formats = sharp.format as unknown as Record<string, { output?: { buffer?: boolean } }>;
  // AVIF is written through libheif: sharp lists it as `heif`.
  const writes = (['png', 'jpeg', 'webp', 'avif'] as const).filter((f) => formats[f === 'avif' ? 'heif' : f]?.output?.buffer === true);
  return { sharp: sharp.versions.sharp ?? 'unknown', libvips: sharp.versions.vips, writes };
}
