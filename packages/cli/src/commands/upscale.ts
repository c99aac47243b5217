import { extname } from 'node:path';
import { formatFromPath } from '@superres/image-io';
import {
  DEFAULT_MAX_MEMORY,
  formatByteSize,
  InvalidOptionError,
  type LoadedModel,
} from '@superres/core';
import { DEFAULT_MODEL_ID, DENOISE_MODEL_ID } from '@superres/models';
import { loadCatalogModel, loadModelFile, type LoadedFaceModels } from '@superres/models/node';
import type { Command } from 'commander';
import { parseUpscaleFlags, THREADS_HELP, withEnvironment, type UpscaleFlags } from '../options.js';
import { loadConfigFile, withConfigFile } from '../config-file.js';
import type { CliIo } from '../io.js';
import { createProgressDisplay, type ProgressDisplay, type ProgressOutput } from '../progress-display.js';
import { progressPrinter, storeFor } from './models.js';
import { openFaceModels } from './face-refs.js';
import { isDirectory, isFile, modelRef, modelTag } from '../model-ref.js';
import { expandInputs } from '../batch/inputs.js';
import { isSingleFileOutput, planOutputs } from '../batch/outputs.js';
import { runBatch, type BatchModel } from '../batch/run-batch.js';
import { errorObject, resultLine, summarize, summaryLine, type RunSummary } from '../batch/results.js';

export interface UpscaleIo {
  /** Status lines (stderr in the binary). */
  log(line: string): void;
  /** Result lines (stdout in the binary); default: `log`. */
  out?(line: string): void;
  /** Where tile progress goes; default: lines through `log`. */
  progress?: ProgressOutput;
  signal?: AbortSignal;
  /** Environment for SUPERRES_* defaults; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export type UpscaleSummary = RunSummary;

/** `superres upscale <inputs...> -o <file|dir> [--model <id|file>[,...]]` */
export async function runUpscale(inputs: string | readonly string[], rawFlags: Record<string, unknown>, io: UpscaleIo): Promise<UpscaleSummary> {
  const started = performance.now();
  const env = io.env ?? process.env;
  // Flags, then SUPERRES_* variables, then the config file, then defaults.
  const file = await loadConfigFile(typeof rawFlags.config === 'string' ? rawFlags.config : undefined, env);
  const flags = parseUpscaleFlags(withConfigFile(withEnvironment(rawFlags, env), file));
  const out = io.out ?? io.log;
  try {
    return await run(typeof inputs === 'string' ? [inputs] : inputs, flags, io, started);
  } catch (error) {
    // With --json, a run that could not go on says so as an object too (the message still goes to stderr).
    if (flags.json) out(JSON.stringify({ type: 'error', ...errorObject(error) }));
    throw error;
  }
}

async function run(args: readonly string[], flags: UpscaleFlags, io: UpscaleIo, started: number): Promise<UpscaleSummary> {
  const out = io.out ?? io.log;
  const modelFiles = await Promise.all(flags.models.map(isFile));
  if (flags.denoise !== undefined && (modelFiles.some(Boolean) || flags.models.some((m) => m !== DENOISE_MODEL_ID))) {
    throw new InvalidOptionError(`--denoise applies only to --model ${DENOISE_MODEL_ID} (received --model ${JSON.stringify(flags.models.join(','))})`, {
      details: { option: 'denoise' },
    });
  }
  // An -o that names a file of a format we cannot write is a usage error, whatever the inputs.
  if (extname(flags.output) !== '' && !(await isDirectory(flags.output))) formatFromPath(flags.output);
  // Everything about paths is settled before a model loads: a wrong -o costs no inference.
  const inputs = await expandInputs(args, { recursive: flags.recursive });
  const explicitFiles = (await Promise.all(args.map(isFile))).filter(Boolean).length;
  const single = await isSingleFileOutput(inputs, explicitFiles, flags.output, flags.models.length);
  const tags = flags.models.length > 1 ? flags.models.map(modelTag) : [''];
  const planned = await planOutputs(inputs, single, { output: flags.output, ext: flags.ext, suffix: flags.suffix, overwrite: flags.overwrite, modelTags: tags });

  // Face models and the first model load while the first image decodes.
  const openingFaces = flags.faces ? openFaceModels(flags.faces, flags, io) : undefined;
  openingFaces?.catch(() => undefined);
  const models: BatchModel[] = flags.models.map((name, i) => ({ tag: tags[i]!, name, open: () => openUpscaler(flags, name, io) }));
  const firstOpening = models[0] ? models[0].open() : undefined;
  firstOpening?.catch(() => undefined);
  // runBatch releases what it opens; the first model, opened early, is released here if it never asked for it.
  let firstTaken = false;
  if (models[0] && firstOpening) {
    models[0] = {
      ...models[0],
      open: () => {
        firstTaken = true;
        return firstOpening;
      },
    };
  }

  let faces: LoadedFaceModels | undefined;
  const displays = new Map<string, ProgressDisplay>();
  const progressOut = io.progress ?? { write: (t: string) => io.log(t.replace(/\n$/, '')), isTTY: false };
  try {
    faces = await openingFaces;
    const results = await runBatch(planned, models, {
      upscale: {
        tile: flags.tile,
        tilePad: flags.tilePad,
        prePad: flags.prePad,
        alpha: flags.alpha,
        ...(flags.maxMemory !== undefined ? { maxMemory: flags.maxMemory } : {}),
        ...(faces ? { faceEnhance: { models: faces, onlyCenterFace: flags.faces!.onlyCenterFace } } : {}),
      },
      ...(flags.scale !== undefined ? { scale: flags.scale } : {}),
      keepMetadata: !flags.strip,
      encode: { quality: flags.quality, ...(flags.compression !== undefined ? { compressionLevel: flags.compression } : {}) },
      ...(flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      ...(flags.quiet
        ? {}
        : {
            onImageStart: (label, index, total) => displays.set(label, createProgressDisplay(progressOut, total > 1 ? `[${index}/${total}] ${label}` : label)),
            onProgress: (label, _index, _total, p) => displays.get(label)?.update(p),
            onImageEnd: (label) => {
              displays.get(label)?.end();
              displays.delete(label);
            },
          }),
      onResult: (r) => {
        if (flags.json) out(JSON.stringify(r));
        else if (r.status === 'failed') io.log(resultLine(r));
        else out(resultLine(r, faces?.names.restorer));
      },
    });
    const summary = summarize(results, performance.now() - started);
    if (flags.json) out(JSON.stringify({ ...summary, results: undefined }));
    else if (planned.length > 1) io.log(summaryLine(summary));
    return summary;
  } finally {
    for (const d of displays.values()) d.end();
    // Awaited: the process ends its workers next, and a worker must not be ended inside a release.
    if (!firstTaken) await firstOpening?.then((m) => m.release(), () => undefined);
    await faces?.release();
  }
}

/** Opens one upscaler by name (a file if one exists, else an id) with the flags' session settings. */
export async function openUpscaler(flags: UpscaleFlags, name: string, io: UpscaleIo): Promise<LoadedModel> {
  const session = { threads: flags.threads, device: flags.device, signal: io.signal };
  const store = storeFor(flags.modelsDir);
  const ref = await modelRef('--model', name, store);
  if (typeof ref !== 'string') return loadModelFile(ref.file, session);
  return loadCatalogModel(ref, {
    ...session,
    store,
    denoise: flags.denoise,
    onProgress: flags.quiet ? undefined : progressPrinter(io.log),
  });
}


export function registerUpscaleCommand(program: Command, io: CliIo): void {
  program
    .command('upscale')
    .description('Upscale images: files, directories (-r for subdirectories) or quoted glob patterns')
    .argument('<inputs...>', 'images (PNG, JPEG, WebP, AVIF, TIFF, ...), directories or patterns such as "photos/**/*.jpg"')
    .requiredOption('-o, --output <file|dir>', 'output file (one input; .png, .jpg, .webp or .avif picks the format) or directory')
    .option('-m, --model <id|file>', `a catalog or imported model id, or a .pth/.safetensors/.onnx file or ncnn .param with its .bin beside it (a file wins if it exists); a,b,c runs each (default ${DEFAULT_MODEL_ID})`)
    .option('-r, --recursive', 'take images from subdirectories of input directories too')
    .option('--ext <ext>', 'output format in a directory: auto (the input\'s, else png), png, jpg, webp or avif', undefined)
    .option('--suffix <text>', 'added to output file names in a directory, before the extension')
    .option('--overwrite', 'replace outputs that exist (in a directory they are skipped by default)')
    .option('--json', 'one JSON object per image on stdout, then a summary')
    .option('--strip', 'write no metadata (by default EXIF, ICC profile and XMP are carried from each input)')
    .option('--denoise <0..1>', `denoise strength of ${DENOISE_MODEL_ID}: 0 keeps noise, 1 removes most (the model as released)`)
    .option('--models-dir <dir>', 'models directory (default: $SUPERRES_MODELS_DIR, else ~/.cache/superres/models)')
    .option('-s, --scale <n>', "output scale (any positive number); default: the model's native scale")
    .option('-t, --tile <n>', 'tile size in input pixels: "auto" fits --max-memory, 0 processes the whole image at once (default auto)')
    .option('--tile-pad <n>', 'context pixels around each tile: "auto" is the model\'s receptive radius, capped at 32 (default auto)')
    .option('--max-memory <size>', `memory budget for automatic tiles, e.g. 512M or 2G (default ${formatByteSize(DEFAULT_MAX_MEMORY)})`)
    .option('--pre-pad <n>', 'reflect padding on the right and bottom edges before inference (default 0)')
    .option('--alpha <mode>', 'alpha channel: "model" (through the network) or "resize" (default model)')
    .option('--device <device>', 'cpu, cuda, webgpu or auto (default cpu)')
    .option('--threads <n>', THREADS_HELP)
    .option('--quality <n>', 'JPEG/WebP/AVIF quality 1..100 (default 95)')
    .option('--compression <0..9>', 'PNG zlib level (default 2, with adaptive filters)')
    .option('--max-pixels <n>', 'refuse inputs with more pixels than this')
    .option('--face-enhance', 'restore faces with GFPGAN (RetinaFace detection, ParseNet mask), as Real-ESRGAN --face_enhance')
    .option('--face-model <id|file>', 'face restorer: GFPGANv1.4 (default), GFPGANv1.3, an imported id or a checkpoint file')
    .option('--face-detector <id|file>', 'face detector: retinaface_resnet50 (default), retinaface_mobile0.25, an imported id or a file')
    .option('--face-parser <id|file|none>', 'face parser for the paste-back mask: parsenet (default), a file, or none (plain blurred mask)')
    .option('--only-center-face', 'restore only the face nearest the centre')
    .option('--config <file>', 'defaults for these options from a JSON file (SUPERRES_CONFIG; default ./superres.config.json when present)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText(
      'after',
      `
Examples:
  superres upscale photo.jpg -o photo-x4.png
  superres upscale photo.jpg -o photo-x2.webp --scale 2 --model realesr-animevideov3
  superres upscale photos/ -o out/ -r --ext auto --suffix _x4
  superres upscale "shots/**/*.png" -o out/ --json > results.ndjson
  superres upscale photo.jpg -o cmp/ --model realesr-general-x4v3,RealESRGAN_x4plus
  superres upscale portrait.jpg -o portrait-x2.png --scale 2 --face-enhance

Every option but -o, --json, -q and --config also reads SUPERRES_<NAME> from the environment
(SUPERRES_MODEL, SUPERRES_TILE_PAD, SUPERRES_MAX_MEMORY, ...; switches take true/false, 1/0 or yes/no:
SUPERRES_FACE_ENHANCE=true; the --face-* and --only-center-face ones only with face enhancement on),
then a config file ({"model": "RealESRGAN_x4plus", "tile": 256, "ext": "webp"}); a flag wins over both.
Exit codes: 0 all done (or skipped), 1 some image or the model failed, 2 usage, 130 Ctrl-C, 143 SIGTERM.`,
    )
    .action(async (inputs: string[], flags: Record<string, unknown>) => {
      const summary = await runUpscale(inputs, flags, {
        log: (l) => io.stderr(`${l}\n`),
        out: (l) => io.stdout(`${l}\n`),
        progress: { write: io.stderr, isTTY: io.stderrIsTTY === true, ...(io.columns ? { columns: io.columns } : {}) },
        ...(io.signal ? { signal: io.signal } : {}),
      });
      if (summary.failed > 0) throw new BatchFailed(summary.failed);
    });
}

/** Some images failed: their messages are printed already; the run ends with exit code 1. */
export class BatchFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} image(s) failed`);
    this.name = 'BatchFailed';
  }
}

