/**
 * Images side by side, each under its name, in one encoded image: what `superres compare` writes.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { Image } from '@superres/core';
import type { OutputFormat } from './format.js';

const CAPTION = 36;
const GAP = 8;

export interface Panel {
  name: string;
  image: Image;
}

/** 8-bit RGBA (what the composite needs) from any of core's formats. */
function rgba8(image: Image): Buffer {
  const { width, height, channels } = image;
  const out = Buffer.alloc(width * height * 4);
  const scale = image.bitDepth === 16 ? 1 / 257 : 1;
  for (let p = 0; p < width * height; p++) {
    const at = (c: number) => Math.round(image.data[p * channels + c]! * scale);
    const gray = channels <= 2;
    out[p * 4] = at(0);
    out[p * 4 + 1] = gray ? at(0) : at(1);
    out[p * 4 + 2] = gray ? at(0) : at(2);
    out[p * 4 + 3] = channels === 2 ? at(1) : channels === 4 ? at(3) : 255;
  }
  return out;
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The panels in a row, each under its caption, on a dark background. */
export async function composeRow(panels: readonly Panel[], format: OutputFormat, quality = 95): Promise<Buffer> {
  const width = panels.reduce((w, p) => w + p.image.width, 0) + GAP * (panels.length + 1);
  const height = Math.max(...panels.map((p) => p.image.height)) + CAPTION + GAP;
  const layers: OverlayOptions[] = [];
  let x = GAP;
  for (const p of panels) {
    const { width: w, height: h } = p.image;
    layers.push({ input: rgba8(p.image), raw: { width: w, height: h, channels: 4 }, left: x, top: CAPTION });
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${CAPTION}"><text x="4" y="${CAPTION - 11}" font-family="sans-serif" font-size="18" fill="#ffffff">${escapeXml(p.name)}</text></svg>`;
    layers.push({ input: Buffer.from(svg), left: x, top: 0 });
    x += w + GAP;
  }
  const canvas = sharp({ create: { width, height, channels: 4, background: { r: 32, g: 32, b: 32, alpha: 1 } } }).composite(layers);
  if (format === 'png') return canvas.png({ compressionLevel: 2, adaptiveFiltering: true }).toBuffer();
  if (format === 'jpeg') return canvas.flatten({ background: '#202020' }).jpeg({ quality }).toBuffer();
  if (format === 'webp') return canvas.webp({ quality }).toBuffer();
  return canvas.avif({ quality }).toBuffer();
}

