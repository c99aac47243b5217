// Small face-model checkpoints for tests of the whole face_enhance path (server, CLI): GFPGANv1Clean
// and ParseNet exactly as released but 1/16 as wide (what narrow = 1/16 builds: every channel
// count divided by 16; 19 parsing classes, RGB, noise sizes and the 512x512 face kept), with the
// formula weights our PyTorch references use, written as safetensors. Real architectures, small
// enough (~3 MB, mostly stored noise) to convert and run in a test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../packages/models/src/checkpoint/test-support/safetensors-writer.js';
import { formulaTensor } from '../packages/models/test/support/formula-weights.js';
import { repoRoot } from './fixtures.js';

const NARROW = 16;

function releasedShapes(file: string): [string, number[]][] {
  const path = join(repoRoot, 'packages/models/test/fixtures/reference', file);
  return (JSON.parse(readFileSync(path, 'utf8')) as { tensors: [string, number[]][] }).tensors;
}

/** Channel counts (every dimension of 32 or more) divided by 16; noise buffers are spatial, kept. */
function narrowed(key: string, shape: readonly number[]): number[] {
  if (key.includes('noises.')) return [...shape];
  return shape.map((d) => (d >= 32 ? d / NARROW : d));
}

function checkpoint(file: string): Uint8Array {
  return writeSafetensors(
    releasedShapes(file).map(([key, shape]) => {
      const small = narrowed(key, shape);
      return [key, { shape: small, data: formulaTensor(key, small) }] as const;
    }),
  );
}

/** GFPGANv1Clean, out_size 512, 1/16 of GFPGANv1.4's widths. */
export const smallGfpganCheckpoint = (): Uint8Array => checkpoint('gfpgan/formula-512.json');

/** ParseNet, 19 classes, 1/16 of parsing_parsenet.pth's widths. */
export const smallParseNetCheckpoint = (): Uint8Array => checkpoint('parsenet/formula.json');
