import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createImage, ImageTooLargeError, InvalidOptionError, type Image } from '@superres/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeImage, encodeImageToFile, formatFromPath } from './index.js';

function pattern(width: number, height: number, channels: Image['channels'], bitDepth: Image['bitDepth']): Image {
  const image = createImage(width, height, channels, bitDepth);
  const max = bitDepth === 16 ? 65535 : 255;
  for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 7919 + (i % channels) * 104729) % (max + 1);
  return image;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-image-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PNG round trips keep every sample', () => {
  for (const [channels, bitDepth] of [[1, 8], [2, 8], [3, 8], [4, 8], [1, 16], [2, 16], [3, 16], [4, 16]] as const) {
    it(`${channels} channel(s), ${bitDepth}-bit, through memory and through a file`, async () => {
      const image = pattern(17, 11, channels, bitDepth);
      const fromBuffer = await decodeImage(await encodeImage(image, { format: 'png' }));
      const path = join(dir, `rt-${channels}-${bitDepth}.png`);
      await encodeImageToFile(image, path, { format: 'png' });
      const fromFile = await decodeImage(await readFile(path));
      for (const decoded of [fromBuffer, fromFile]) {
        expect([decoded.width, decoded.height, decoded.channels, decoded.bitDepth]).toEqual([17, 11, channels, bitDepth]);
        expect(decoded.data).toEqual(image.data);
      }
    });
  }
});

describe('lossy formats and limits', () => {
  it('JPEG flattens alpha onto white and keeps the size', async () => {
    const image = createImage(8, 8, 4, 8); // transparent black
    const decoded = await decodeImage(await encodeImage(image, { format: 'jpeg', quality: 90 }));
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([8, 8, 3]);
    expect(Math.min(...decoded.data)).toBeGreaterThan(240);
  });

  it('refuses WebP over 16383 pixels a side, and pixel bombs at decode', async () => {
    await expect(encodeImage(createImage(16384, 1, 1, 8), { format: 'webp' })).rejects.toThrow(ImageTooLargeError);
    const big = await encodeImage(createImage(300, 300, 3, 8), { format: 'png' });
    await expect(decodeImage(big, { maxPixels: 300 * 299 })).rejects.toThrow(ImageTooLargeError);
  });

  it('picks the format from the extension and names the others', () => {
    expect(['a.png', 'b.JPG', 'c.jpeg', 'd.webp'].map(formatFromPath)).toEqual(['png', 'jpeg', 'jpeg', 'webp']);
    expect(() => formatFromPath('e.gif')).toThrow(InvalidOptionError);
  });
});
