import { InvalidOptionError, throwIfAborted, type OnnxBuildOptions } from '@superres/core';
import { readCheckpoint } from '../checkpoint/read-checkpoint.js';
import { buildGraphFromStateDict } from '../architectures/detect.js';
import { interpolateStateDicts } from './interpolate.js';
import { catalogOnnx } from './catalog.js';

/** The model whose denoise strength can be tuned, and the weak-denoise model it is blended with. */
export const DENOISE_MODEL_ID = 'realesr-general-x4v3';
export const DENOISE_PARTNER_ID = 'realesr-general-wdn-x4v3';

/** Throws InvalidOptionError unless `denoise` is a number in 0..1 (inclusive). */
export function checkDenoise(denoise: unknown): number {
  if (typeof denoise !== 'number' || !Number.isFinite(denoise) || denoise < 0 || denoise > 1) {
    throw new InvalidOptionError(`Option denoise must be a number from 0 to 1, got ${JSON.stringify(denoise)}`, {
      details: { option: 'denoise' },
    });
  }
  return denoise;
}

/** Whether a denoise value needs the second (wdn) weights: 1 is realesr-general-x4v3 alone. */
export function needsDenoisePartner(denoise: number | undefined): denoise is number {
  return denoise !== undefined && checkDenoise(denoise) !== 1;
}

/**
 * The ONNX graph of realesr-general-x4v3 at a denoise strength, as `inference_realesrgan.py -dn`:
 * `denoise * x4v3 + (1 - denoise) * wdn` on every weight. 1 is x4v3 alone (strong denoise);
 * 0 is realesr-general-wdn-x4v3 alone (weak denoise, keeps noise).
 */
export async function buildDenoisedOnnx(
  x4v3: Uint8Array,
  wdn: Uint8Array,
  denoise: number,
  options: OnnxBuildOptions = {},
): Promise<Uint8Array> {
  checkDenoise(denoise);
  if (denoise === 1) return catalogOnnx(DENOISE_MODEL_ID, 'SRVGGNetCompact', 4, x4v3);
  const a = readCheckpoint(x4v3).stateDict;
  throwIfAborted(options.signal);
  const b = readCheckpoint(wdn).stateDict;
  throwIfAborted(options.signal);
  return buildGraphFromStateDict(interpolateStateDicts(a, b, denoise)).onnx;
}
