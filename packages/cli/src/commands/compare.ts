/**
 * `superres compare <image> --model a,b,c -o cmp.png`: the image upscaled by each model (and, as a
 * baseline, by Lanczos) at one scale, side by side with each panel's name above it, in one image.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { resampleLanczos, upscale } from '@superres/core';
import { composeRow, decodeImage, formatFromPath, type Panel } from '@superres/image-io';
import { writeFileAtomic } from '@superres/models/node';
import type { CliIo } from '../io.js';
import { parseUpscaleFlags, THREADS_HELP, withEnvironment } from '../options.js';
import { openUpscaler } from './upscale.js';

export function registerCompareCommand(program: Command, io: CliIo): void {
  program
    .command('compare')
    .description('Upscale one image with several models and write them side by side, with a Lanczos baseline, in one image')
    .argument('<image>', 'input image')
    .requiredOption('-o, --output <file>', 'the comparison image (.png, .jpg, .webp or .avif)')
    .requiredOption('-m, --model <a,b,...>', 'models to compare: ids or files, comma-separated')
    .option('-s, --scale <n>', 'one scale for every panel (default 4)')
    .option('--no-baseline', 'leave out the Lanczos panel')
    .option('--models-dir <dir>', 'models directory (default: $SUPERRES_MODELS_DIR, else ~/.cache/superres/models)')
    .option('--threads <n>', THREADS_HELP)
    .option('-q, --quiet', 'no progress output', false)
    .addHelpText('after', '\nExample:\n  superres compare photo.jpg -m realesr-general-x4v3,RealESRGAN_x4plus -o compare.png')
    .action(async (input: string, raw: { output: string; model: string; scale?: string; baseline: boolean; modelsDir?: string; threads?: string; quiet: boolean }) => {
      const format = formatFromPath(raw.output);
      const flags = parseUpscaleFlags(
        withEnvironment({ output: raw.output, model: raw.model, scale: raw.scale ?? '4', modelsDir: raw.modelsDir, threads: raw.threads, quiet: raw.quiet }, process.env),
      );
      const scale = flags.scale!;
      const image = await decodeImage(await readFile(input));
      const panels: Panel[] = [];
      if (raw.baseline) {
        const size = { width: Math.max(1, Math.floor(image.width * scale + 1e-9)), height: Math.max(1, Math.floor(image.height * scale + 1e-9)) };
        panels.push({ name: 'Lanczos', image: resampleLanczos(image, size.width, size.height) });
      }
      for (const name of flags.models) {
        const model = await openUpscaler(flags, name, io.signal ? { log: (l) => io.stderr(`${l}\n`), signal: io.signal } : { log: (l) => io.stderr(`${l}\n`) });
        try {
          panels.push({ name: model.id, image: await upscale(image, model, { outscale: scale, ...(io.signal ? { signal: io.signal } : {}) }) });
        } finally {
          await model.release();
        }
        if (!raw.quiet) io.stderr(`${model.id}: done\n`);
      }
      const bytes = await composeRow(panels, format);
      await writeFileAtomic(raw.output, bytes, io.signal ? { signal: io.signal } : {});
      io.stdout(`${raw.output}: ${panels.map((p) => p.name).join(' | ')} at x${scale}\n`);
    });
}
