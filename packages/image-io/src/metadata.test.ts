import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Image } from '@superres/core';
import { decodeImage } from './decode.js';
import { encodeImage } from './encode.js';
import { exifWithOrientationReset, iccColourSpace, readImageMetadata } from './metadata.js';

const XMP =
  '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
  '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="superres-test"/></rdf:RDF></x:xmpmeta>';

/** A JPEG carrying EXIF (Make, orientation 6), a Display P3 profile and XMP, as a camera or editor writes it. */
async function taggedJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .withExifMerge({ IFD0: { Make: 'SuperresCam', Copyright: 'test' } })
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .withXmp(XMP)
    .jpeg()
    .toBuffer();
}

const rgb = (w: number, h: number): Image => ({ width: w, height: h, channels: 3, bitDepth: 8, data: new Uint8Array(w * h * 3).fill(120) });

describe('metadata carried into the output', () => {
  it('reads EXIF (without its header), ICC and XMP, and counts frames', async () => {
    const meta = await readImageMetadata(await taggedJpeg());
    expect(Buffer.from(meta.exif!.subarray(0, 2)).toString('latin1')).toMatch(/II|MM/);
    expect(iccColourSpace(meta.icc!)).toBe('RGB');
    expect(meta.icc!.length).toBeGreaterThan(100);
    expect(meta.xmp).toContain('superres-test');
    expect(meta.pages).toBe(1);
  });

  it.each(['png', 'jpeg', 'webp'] as const)('%s: EXIF with orientation 1, the ICC profile and XMP, read back by sharp', async (format) => {
    const meta = await readImageMetadata(await taggedJpeg());
    const out = await sharp(await encodeImage(rgb(24, 16), { format, metadata: meta })).metadata();
    expect(out.format).toBe(format);
    expect(out.exif?.toString('latin1')).toContain('SuperresCam');
    expect(out.orientation).toBe(1);
    expect(out.icc && Buffer.compare(out.icc, Buffer.from(meta.icc!))).toBe(0);
    expect(out.xmp?.toString('utf8')).toContain('superres-test');
  });

  it('converts the pixels back into the profile: decoded again, the colours are those of the input (within 2 levels)', async () => {
    const input = await taggedJpeg();
    const decoded = await decodeImage(input);
    const again = await decodeImage(await encodeImage(decoded, { format: 'png', metadata: await readImageMetadata(input) }));
    const worst = Math.max(...decoded.data.map((v, i) => Math.abs(v - again.data[i]!)));
    expect(worst).toBeLessThanOrEqual(2);
    // Without metadata nothing is converted: the round trip is exact.
    const plain = await decodeImage(await encodeImage(decoded, { format: 'png' }));
    expect(Math.max(...decoded.data.map((v, i) => Math.abs(v - plain.data[i]!)))).toBe(0);
  });

  it('writes nothing without metadata; a gray image takes no RGB profile', async () => {
    const bare = await sharp(await encodeImage(rgb(8, 8), { format: 'png' })).metadata();
    expect([bare.exif, bare.icc, bare.xmp]).toEqual([undefined, undefined, undefined]);
    const meta = await readImageMetadata(await taggedJpeg());
    const gray: Image = { width: 8, height: 8, channels: 1, bitDepth: 8, data: new Uint8Array(64) };
    const out = await sharp(await encodeImage(gray, { format: 'png', metadata: meta })).metadata();
    expect(out.icc).toBeUndefined();
    expect(out.exif?.toString('latin1')).toContain('SuperresCam');
  });

  it('resets only the orientation, and leaves malformed EXIF as it is', () => {
    // Little-endian TIFF: IFD0 at 8 with one entry, Orientation (0x0112) SHORT 1 value 8.
    const tiff = new Uint8Array([0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
    const reset = exifWithOrientationReset(tiff);
    expect(reset[18]).toBe(1);
    expect([...reset.subarray(0, 18)]).toEqual([...tiff.subarray(0, 18)]);
    expect(tiff[18]).toBe(8); // the input is not changed
    const junk = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...exifWithOrientationReset(junk)]).toEqual([...junk]);
  });
});
