import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { upscale, type Image } from '@superres/core';
import { loadModelFile } from '@superres/models/node';
import { decodeImage, encodeImage, formatFromPath } from './image-io.js';
import { parseUpscaleFlags } from './options.js';

export interface UpscaleIo {
  /** Progress and status lines (stderr in the binary). */
  log(line: string): void;
  signal?: AbortSignal;
}

export interface UpscaleSummary {
  input: { width: number; height: number; channels: number; bitDepth: number };
  output: { width: number; height: number; channels: number; bitDepth: number; path: string };
  modelId: string;
}

/** `superres upscale <input> -o <output> --model <file>` */
export async function runUpscale(
  inputPath: string,
  rawFlags: Record<string, unknown>,
  io: UpscaleIo,
): Promise<UpscaleSummary> {
  const flags = parseUpscaleFlags(rawFlags);
  const format = formatFromPath(flags.output);
  const input = await decodeImage(await readFile(inputPath), { maxPixels: flags.maxPixels });
  const model = await loadModelFile(flags.model, { threads: flags.threads, signal: io.signal });
  let output: Image;
  try {
    output = await upscale(input, model, {
      tile: flags.tile,
      tilePad: flags.tilePad,
      prePad: flags.prePad,
      outscale: flags.scale ?? model.scale,
      alpha: flags.alpha,
      signal: io.signal,
      onProgress: flags.quiet
        ? undefined
        : (p) => {
            if (p.stage === 'inference' && p.tilesTotal > 1) io.log(`tile ${p.tilesDone}/${p.tilesTotal}`);
          },
    });
  } finally {
    await model.release();
  }
  const encoded = await encodeImage(output, { format, quality: flags.quality });
  await writeAtomically(flags.output, encoded);
  return {
    input: describe(input),
    output: { ...describe(output), path: flags.output },
    modelId: model.id,
  };
}

function describe(image: Image) {
  return { width: image.width, height: image.height, channels: image.channels, bitDepth: image.bitDepth };
}

/** Write beside the target and rename, so a reader never sees a half-written file. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
