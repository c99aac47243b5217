/**
 * Metadata carried from an input file to its upscaled output: EXIF (with the orientation reset to
 * 1, because decoding applied it), the ICC profile (the pixels are converted to sRGB on decode and
 * back to the profile on encode) and XMP. sharp writes ICC and XMP itself; EXIF goes in as the
 * input's own bytes, inserted into the encoded PNG, JPEG or WebP container (sharp only takes EXIF
 * as a table of strings, which would lose binary tags).
 */
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { OutputFormat } from './format.js';

export interface ImageMetadata {
  /** EXIF as a TIFF structure (without the `Exif\0\0` header). */
  exif?: Uint8Array;
  icc?: Uint8Array;
  xmp?: string;
  /** Frames of an animated input (decoding takes the first); 1 for a still image. */
  pages: number;
}

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');

export async function readImageMetadata(bytes: Uint8Array): Promise<ImageMetadata> {
  const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  const exif = meta.exif && meta.exif.subarray(0, 6).equals(EXIF_HEADER) ? meta.exif.subarray(6) : meta.exif;
  return {
    ...(exif && exif.length > 8 ? { exif: new Uint8Array(exif) } : {}),
    ...(meta.icc ? { icc: new Uint8Array(meta.icc) } : {}),
    ...(meta.xmp ? { xmp: meta.xmp.toString('utf8') } : {}),
    pages: meta.pages ?? 1,
  };
}

/** A copy of a TIFF-structured EXIF block with IFD0's Orientation (0x0112) set to 1; unchanged when it has none or is malformed. */
export function exifWithOrientationReset(tiff: Uint8Array): Uint8Array {
  const out = tiff.slice();
  if (out.length < 8) return out;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const little = out[0] === 0x49 && out[1] === 0x49;
  if (!little && !(out[0] === 0x4d && out[1] === 0x4d)) return out;
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > out.length) return out;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > out.length) break;
    // Orientation is one SHORT (type 3), stored in the entry's value field.
    if (view.getUint16(entry, little) === 0x0112 && view.getUint16(entry + 2, little) === 3) view.setUint16(entry + 8, 1, little);
  }
  return out;
}

/** ICC profiles describe their colour space at bytes 16-19: an RGB one can be attached to RGB output only. */
export function iccColourSpace(icc: Uint8Array): string {
  return icc.length >= 20 ? Buffer.from(icc.subarray(16, 20)).toString('latin1').trim() : '';
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** PNG: an eXIf chunk right after IHDR (it must come before IDAT). */
function pngWithExif(png: Uint8Array, tiff: Uint8Array): Uint8Array | undefined {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 33 || buf.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const ihdrEnd = 8 + 8 + buf.readUInt32BE(8) + 4;
  return Buffer.concat([buf.subarray(0, ihdrEnd), pngChunk('eXIf', tiff), buf.subarray(ihdrEnd)]);
}

/** JPEG: an APP1 Exif segment after SOI and any APP0 (JFIF); a segment holds at most 64 KiB. */
function jpegWithExif(jpeg: Uint8Array, tiff: Uint8Array): Uint8Array | undefined {
  const buf = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  const length = 2 + EXIF_HEADER.length + tiff.length;
  if (length > 0xffff || buf[0] !== 0xff || buf[1] !== 0xd8) return undefined;
  let at = 2;
  if (buf[2] === 0xff && buf[3] === 0xe0) at = 4 + buf.readUInt16BE(4);
  const head = Buffer.from([0xff, 0xe1, length >> 8, length & 0xff]);
  return Buffer.concat([buf.subarray(0, at), head, EXIF_HEADER, tiff, buf.subarray(at)]);
}

/** WebP: the extended format (VP8X) with its EXIF flag and an EXIF chunk at the end. */
function webpWithExif(webp: Uint8Array, tiff: Uint8Array, width: number, height: number): Uint8Array | undefined {
  const buf = Buffer.from(webp.buffer, webp.byteOffset, webp.byteLength);
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  let body = buf.subarray(12);
  if (body.toString('latin1', 0, 4) !== 'VP8X') {
    const vp8x = Buffer.alloc(18);
    vp8x.write('VP8X', 0, 'latin1');
    vp8x.writeUInt32LE(10, 4);
    vp8x.writeUIntLE(width - 1, 12, 3);
    vp8x.writeUIntLE(height - 1, 15, 3);
    body = Buffer.concat([vp8x, body]);
  } else body = Buffer.from(body);
  body[8] = body[8]! | 0x08;
  const chunk = Buffer.alloc(8);
  chunk.write('EXIF', 0, 'latin1');
  chunk.writeUInt32LE(tiff.length, 4);
  const pad = tiff.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0);
  const all = Buffer.concat([body, chunk, tiff, pad]);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(all.length + 4, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, all]);
}

/** The encoded file with the EXIF block inside, or undefined where the container cannot take it (AVIF, an EXIF over 64 KiB in JPEG). */
export function withExif(encoded: Uint8Array, format: OutputFormat, tiff: Uint8Array, width: number, height: number): Uint8Array | undefined {
  if (format === 'png') return pngWithExif(encoded, tiff);
  if (format === 'jpeg') return jpegWithExif(encoded, tiff);
  if (format === 'webp') return webpWithExif(encoded, tiff, width, height);
  return undefined;
}
