import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { upscale, type Image } from '@superres/core';
import { loadModelFile } from '@superres/models/node';
import type { Command } from 'commander';
import { decodeImage, encodeImage, formatFromPath } from '../image-io.js';
import { parseUpscaleFlags } from '../options.js';
import type { CliIo } from '../io.js';

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
  const model = await loadModelFile(flags.model, { threads: flags.threads, device: flags.device, signal: io.signal });
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

export function registerUpscaleCommand(program: Command, io: CliIo): void {
  program
    .command('upscale')
    .description('Upscale one image')
    .argument('<input>', 'input image (PNG, JPEG, WebP, TIFF, ...)')
    .requiredOption('-o, --output <file>', 'output image; .png, .jpg or .webp picks the format')
    .requiredOption('-m, --model <file>', 'model weights: a PyTorch .pth checkpoint or an .onnx file')
    .option('-s, --scale <n>', "output scale (any positive number); default: the model's native scale")
    .option('-t, --tile <n>', 'tile size in input pixels; 0 processes the whole image at once', '0')
    .option('--tile-pad <n>', 'context pixels around each tile', '10')
    .option('--pre-pad <n>', 'reflect padding on the right and bottom edges before inference', '0')
    .option('--alpha <mode>', 'alpha channel: "model" (through the network) or "resize"', 'model')
    .option('--device <device>', 'cpu, cuda, webgpu or auto', 'cpu')
    .option('--threads <n>', 'inference threads (default: runtime choice)')
    .option('--quality <n>', 'JPEG/WebP quality 1..100', '95')
    .option('--max-pixels <n>', 'refuse inputs with more pixels than this')
    .option('-q, --quiet', 'no progress output', false)
    .action(async (input: string, flags: Record<string, unknown>) => {
      const summary = await runUpscale(input, flags, { log: (l) => io.stderr(`${l}\n`), signal: io.signal });
      const { output: o } = summary;
      io.stdout(`${o.path}: ${o.width}x${o.height}, ${o.channels} channel(s), ${o.bitDepth}-bit (model ${summary.modelId})\n`);
    });
}
