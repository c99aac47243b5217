/** `superres faces detect <image> [--json]`: the faces face enhancement would see, with boxes, scores and landmarks. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { selectFaces, toRgb8, type FoundFace } from '@superres/core';
import { decodeImage } from '@superres/image-io';
import { DEFAULT_FACE_MODELS } from '@superres/models';
import { loadFaceDetector } from '@superres/models/node';
import type { CliIo } from '../io.js';
import { modelRef } from '../model-ref.js';
import { integer, THREADS_HELP } from '../options.js';
import { progressPrinter, storeFor } from './models.js';

export interface FaceDetection {
  image: { width: number; height: number };
  detector: string;
  /** Best first; `restored`: whether face enhancement would restore it (eyes at least 5 px apart). */
  faces: (FoundFace & { restored: boolean })[];
}

const LANDMARK_NAMES = ['left eye', 'right eye', 'nose', 'mouth left', 'mouth right'];

export async function detectFacesIn(
  path: string,
  flags: { faceDetector?: string; modelsDir?: string; threads?: number; maxPixels?: number; quiet?: boolean },
  io: { log(line: string): void; signal?: AbortSignal },
): Promise<FaceDetection> {
  const store = storeFor(flags.modelsDir);
  const detector = await loadFaceDetector({
    store,
    detector: await modelRef('--face-detector', flags.faceDetector ?? DEFAULT_FACE_MODELS.detector, store),
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    ...(io.signal ? { signal: io.signal } : {}),
    ...(flags.quiet ? {} : { onProgress: progressPrinter(io.log) }),
  });
  try {
    const image = toRgb8(await decodeImage(await readFile(path), flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}));
    const found = await detector.detect(image, io.signal);
    const kept = new Set(selectFaces(found, image.width, image.height));
    return {
      image: { width: image.width, height: image.height },
      detector: detector.name,
      faces: found.map((f) => ({ box: f.box, score: f.score, landmarks: f.landmarks, restored: kept.has(f) })),
    };
  } finally {
    await detector.release();
  }
}

const px = (v: number) => v.toFixed(1);

export function formatDetection(path: string, d: FaceDetection): string {
  const lines = [`${path}: ${d.faces.length} face(s) (${d.image.width}x${d.image.height}, detector ${d.detector})`];
  d.faces.forEach((f, i) => {
    const [x0, y0, x1, y1] = f.box;
    lines.push(`face ${i + 1}: box ${px(x0)},${px(y0)} - ${px(x1)},${px(y1)}  score ${f.score.toFixed(4)}${f.restored ? '' : '  (too small to restore)'}`);
    f.landmarks.forEach((p, j) => lines.push(`  ${LANDMARK_NAMES[j]}: ${px(p[0])},${px(p[1])}`));
  });
  return `${lines.join('\n')}\n`;
}

export function registerFacesCommand(program: Command, io: CliIo): void {
  const faces = program.command('faces').description('Face detection, as face enhancement sees it');
  faces
    .command('detect')
    .description('Print the faces found in an image: boxes, scores and five landmarks')
    .argument('<image>', 'input image')
    .option('--face-detector <id|file>', 'retinaface_resnet50 (default), retinaface_mobile0.25, an imported id or a checkpoint file')
    .option('--models-dir <dir>', 'models directory (default: $SUPERRES_MODELS_DIR, else ~/.cache/superres/models)')
    .option('--threads <n>', THREADS_HELP)
    .option('--json', 'print JSON', false)
    .option('-q, --quiet', 'no download progress', false)
    .addHelpText('after', '\nExamples:\n  superres faces detect photo.jpg\n  superres faces detect photo.jpg --json --face-detector retinaface_mobile0.25')
    .action(async (image: string, flags: { faceDetector?: string; modelsDir?: string; threads?: string; json: boolean; quiet: boolean }) => {
      const threads = flags.threads === undefined ? undefined : integer('--threads', flags.threads, 1);
      const { faceDetector, modelsDir, quiet } = flags;
      const result = await detectFacesIn(image, { faceDetector, modelsDir, quiet, ...(threads !== undefined ? { threads } : {}) }, {
        log: (l) => io.stderr(`${l}\n`),
        ...(io.signal ? { signal: io.signal } : {}),
      });
      io.stdout(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatDetection(image, result));
    });
}
