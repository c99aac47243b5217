import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  DEFAULT_MAX_MEMORY,
  formatByteSize,
  InvalidOptionError,
  ModelNotFoundError,
  parseByteSize,
  throwIfAborted,
  upscale,
  type Image,
  type LoadedModel,
} from '@superres/core';
import { DEFAULT_MODEL_ID, DENOISE_MODEL_ID } from '@superres/models';
import { loadCatalogModel, loadModelFile, writeFileAtomic, type LoadedFaceModels } from '@superres/models/node';
import type { Command } from 'commander';
import { decodeImage, encodeImageToFile, formatFromPath } from '@superres/image-io';
import { parseUpscaleFlags, type UpscaleFlags } from '../options.js';
import type { CliIo } from '../io.js';
import { createProgressDisplay, type ProgressOutput } from '../progress-display.js';
import { progressPrinter, storeFor } from './models.js';
import { openFaceModels } from './face-refs.js';

export interface UpscaleIo {
  /** Status lines (stderr in the binary). */
  log(line: string): void;
  /** Where tile progress goes; default: lines through `log`. */
  progress?: ProgressOutput;
  signal?: AbortSignal;
  /** Environment for SUPERRES_MAX_MEMORY; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface UpscaleSummary {
  input: { width: number; height: number; channels: number; bitDepth: number };
  output: { width: number; height: number; channels: number; bitDepth: number; path: string };
  modelId: string;
  /** With --face-enhance: the face models used, by role. */
  faceModels?: LoadedFaceModels['names'];
}

/** `superres upscale <input> -o <output> [--model <id|file>]` */
export async function runUpscale(
  inputPath: string,
  rawFlags: Record<string, unknown>,
  io: UpscaleIo,
): Promise<UpscaleSummary> {
  const flags = parseUpscaleFlags(rawFlags);
  const format = formatFromPath(flags.output);
  const modelIsFile = await isFile(flags.model);
  if (flags.denoise !== undefined && (modelIsFile || flags.model !== DENOISE_MODEL_ID)) {
    throw new InvalidOptionError(`--denoise applies only to --model ${DENOISE_MODEL_ID} (received --model ${JSON.stringify(flags.model)})`, {
      details: { option: 'denoise' },
    });
  }
  const maxMemory = flags.maxMemory ?? maxMemoryFromEnv(io.env ?? process.env);
  // The model loads (a worker starts, ONNX Runtime initialises, the checkpoint converts) while the
  // input decodes; an input error still comes first, and the model is then released.
  const opening = openModel(flags, modelIsFile, io);
  opening.catch(() => undefined);
  const openingFaces = flags.faces ? openFaceModels(flags.faces, flags, io) : undefined;
  openingFaces?.catch(() => undefined);
  const releaseAll = () => {
    void opening.then((m) => m.release(), () => undefined);
    void openingFaces?.then((f) => f.release(), () => undefined);
  };
  let input: Image;
  let model: LoadedModel;
  let faces: LoadedFaceModels | undefined;
  try {
    input = await decodeImage(await readFile(inputPath), { maxPixels: flags.maxPixels });
    [model, faces] = await Promise.all([opening, openingFaces]);
  } catch (error) {
    releaseAll();
    throw error;
  }
  const display = flags.quiet
    ? undefined
    : createProgressDisplay(io.progress ?? { write: (t) => io.log(t.replace(/\n$/, '')), isTTY: false }, basename(inputPath));
  let output: Image;
  try {
    output = await upscale(input, model, {
      tile: flags.tile,
      tilePad: flags.tilePad,
      prePad: flags.prePad,
      outscale: flags.scale ?? model.scale,
      alpha: flags.alpha,
      ...(maxMemory !== undefined ? { maxMemory } : {}),
      ...(faces ? { faceEnhance: { models: faces, onlyCenterFace: flags.faces!.onlyCenterFace } } : {}),
      signal: io.signal,
      onProgress: display && ((p) => display.update(p)),
    });
  } finally {
    display?.end();
    await Promise.all([model.release(), faces?.release()]);
  }
  throwIfAborted(io.signal);
  // Encoded straight to a temp file (never whole in memory), then renamed into place; interrupted
  // before the rename, the temp file goes and nothing is written.
  await writeFileAtomic(flags.output, (temp) => encodeImageToFile(output, temp, { format, quality: flags.quality }), {
    signal: io.signal,
  });
  return {
    input: describe(input),
    output: { ...describe(output), path: flags.output },
    modelId: model.id,
    ...(faces ? { faceModels: faces.names } : {}),
  };
}

/** A path wins when such a file exists; otherwise --model names a catalog or imported model. */
async function openModel(flags: UpscaleFlags, modelIsFile: boolean, io: UpscaleIo): Promise<LoadedModel> {
  const session = { threads: flags.threads, device: flags.device, signal: io.signal };
  if (modelIsFile) return loadModelFile(flags.model, session);
  const store = storeFor(flags.modelsDir);
  if (!(await store.has(flags.model)) && /[\\/]|\.(pth|pt|onnx|safetensors)$/i.test(flags.model)) {
    throw new ModelNotFoundError(`--model ${flags.model}: no such file, and no model with that id`, { details: { id: flags.model } });
  }
  return loadCatalogModel(flags.model, {
    ...session,
    store,
    denoise: flags.denoise,
    onProgress: flags.quiet ? undefined : progressPrinter(io.log),
  });
}

function maxMemoryFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env.SUPERRES_MAX_MEMORY?.trim();
  return raw ? parseByteSize(raw, 'SUPERRES_MAX_MEMORY') : undefined;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

function describe(image: Image) {
  return { width: image.width, height: image.height, channels: image.channels, bitDepth: image.bitDepth };
}

export function registerUpscaleCommand(program: Command, io: CliIo): void {
  program
    .command('upscale')
    .description('Upscale one image')
    .argument('<input>', 'input image (PNG, JPEG, WebP, TIFF, ...)')
    .requiredOption('-o, --output <file>', 'output image; .png, .jpg or .webp picks the format')
    .option('-m, --model <id|file>', 'a catalog or imported model id, or a .pth/.onnx file (a file wins if it exists)', DEFAULT_MODEL_ID)
    .option('--denoise <0..1>', `denoise strength of ${DENOISE_MODEL_ID}: 0 keeps noise, 1 removes most (the model as released)`)
    .option('--models-dir <dir>', 'models directory (default: $SUPERRES_MODELS_DIR, else ~/.cache/superres/models)')
    .option('-s, --scale <n>', "output scale (any positive number); default: the model's native scale")
    .option('-t, --tile <n>', 'tile size in input pixels: "auto" fits --max-memory, 0 processes the whole image at once', 'auto')
    .option('--tile-pad <n>', 'context pixels around each tile: "auto" is the model\'s receptive radius, capped at 32', 'auto')
    .option('--max-memory <size>', `memory budget for automatic tiles, e.g. 512M or 2G (SUPERRES_MAX_MEMORY, default ${formatByteSize(DEFAULT_MAX_MEMORY)})`)
    .option('--pre-pad <n>', 'reflect padding on the right and bottom edges before inference', '0')
    .option('--alpha <mode>', 'alpha channel: "model" (through the network) or "resize"', 'model')
    .option('--device <device>', 'cpu, cuda, webgpu or auto', 'cpu')
    .option('--threads <n>', 'inference threads (default: runtime choice)')
    .option('--quality <n>', 'JPEG/WebP quality 1..100', '95')
    .option('--max-pixels <n>', 'refuse inputs with more pixels than this')
    .option('--face-enhance', 'restore faces with GFPGAN (RetinaFace detection, ParseNet mask), as Real-ESRGAN --face_enhance')
    .option('--face-model <id|file>', 'face restorer: GFPGANv1.4 (default), GFPGANv1.3, an imported id or a checkpoint file')
    .option('--face-detector <id|file>', 'face detector: retinaface_resnet50 (default), retinaface_mobile0.25, an imported id or a file')
    .option('--face-parser <id|file|none>', 'face parser for the paste-back mask: parsenet (default), a file, or none (plain blurred mask)')
    .option('--only-center-face', 'restore only the face nearest the centre')
    .option('-q, --quiet', 'no progress output', false)
    .action(async (input: string, flags: Record<string, unknown>) => {
      const summary = await runUpscale(input, flags, {
        log: (l) => io.stderr(`${l}\n`),
        progress: { write: io.stderr, isTTY: io.stderrIsTTY === true, ...(io.columns ? { columns: io.columns } : {}) },
        signal: io.signal,
      });
      const { output: o } = summary;
      const faces = summary.faceModels ? `, faces ${summary.faceModels.restorer}` : '';
      io.stdout(`${o.path}: ${o.width}x${o.height}, ${o.channels} channel(s), ${o.bitDepth}-bit (model ${summary.modelId}${faces})\n`);
    });
}
