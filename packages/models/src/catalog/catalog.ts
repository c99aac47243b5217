/**
 * The built-in model catalog: Real-ESRGAN's official releases as declarative plugins. Facts
 * (release URLs, architectures, hyperparameters) follow xinntao/Real-ESRGAN's
 * `inference_realesrgan.py`; sha256 and sizes are the published ones.
 */
import type { ModelRegistry, WeightSource } from '@superres/core';
import { convertCheckpoint } from '../convert/convert-checkpoint.js';
import type { CheckpointPlugin } from '../convert/checkpoint-plugin.js';
import { rrdbGeometry } from '../architectures/rrdbnet.js';
import { srvggGeometry } from '../architectures/srvgg.js';
import { faceCatalogModels } from './face-catalog.js';

export type CatalogArchitecture = 'RRDBNet' | 'SRVGGNetCompact' | 'GFPGANv1Clean' | 'RetinaFace' | 'ParseNet';

/** A catalog entry: a plugin whose weights are always downloadable and whose layout is known. */
export interface CatalogModel extends CheckpointPlugin {
  readonly weights: WeightSource;
  readonly architecture: CatalogArchitecture;
  readonly hyperparameters: Readonly<Record<string, number | string>>;
}

/** The model used when none is named. */
export const DEFAULT_MODEL_ID = 'realesr-general-x4v3';

// Real-ESRGAN is BSD-3-Clause (the repository's LICENSE; its very first commit said MIT).
const LICENSE = 'BSD-3-Clause';
const RELEASES = 'https://github.com/xinntao/Real-ESRGAN/releases/download';

function rrdb(
  id: string,
  release: string,
  numBlock: number,
  scale: 2 | 4,
  description: string,
  digest: { sha256?: string; bytes?: number },
): CatalogModel {
  return entry(id, release, description, digest, {
    architecture: 'RRDBNet',
    hyperparameters: { num_in_ch: 3, num_out_ch: 3, num_feat: 64, num_block: numBlock, num_grow_ch: 32, scale },
    // Geometry from the architecture module itself, so catalog and converter cannot disagree
    // (x4plus 349, anime_6B 94, x2plus 698 input pixels; x2 unshuffles by 2).
    ...rrdbGeometry({
      numInCh: 3,
      numOutCh: 3,
      numFeat: 64,
      numGrowCh: 32,
      numBlock,
      scale,
      unshuffle: scale === 2 ? 2 : 1,
      upsample: [2, 2],
      keyLayout: 'basicsr',
    }),
  });
}

function srvgg(
  id: string,
  numConv: number,
  description: string,
  digest: { sha256: string; bytes: number },
): CatalogModel {
  return entry(id, 'v0.2.5.0', description, digest, {
    architecture: 'SRVGGNetCompact',
    hyperparameters: { num_in_ch: 3, num_out_ch: 3, num_feat: 64, num_conv: numConv, upscale: 4, act_type: 'prelu' },
    ...srvggGeometry({ numInCh: 3, numOutCh: 3, numFeat: 64, numConv, upscale: 4, activation: 'prelu' }),
  });
}

function entry(
  id: string,
  release: string,
  description: string,
  digest: { sha256?: string; bytes?: number },
  shape: Pick<CatalogModel, 'architecture' | 'hyperparameters' | 'scale' | 'alignment' | 'receptiveRadius' | 'workingBytesPerPixel'>,
): CatalogModel {
  const weights: WeightSource = { url: `${RELEASES}/${release}/${id}.pth`, license: LICENSE, ...digest };
  const checkpoint = { expect: { id, architecture: shape.architecture, scale: shape.scale } };
  return {
    id,
    kind: 'upscaler',
    description,
    weights,
    ...shape,
    checkpoint,
    toOnnx: async (bytes) => convertCheckpoint(bytes, checkpoint).onnx,
  };
}

/** The catalog entry's graph from its weights, refusing a file of another architecture or scale. */
export function catalogOnnx(id: string, architecture: string, scale: number, bytes: Uint8Array): Uint8Array {
  return convertCheckpoint(bytes, { expect: { id, architecture, scale } }).onnx;
}

/** Every built-in model: the upscalers in the order the reference lists them, then the face models (a fresh array each call). */
export function catalogModels(): CatalogModel[] {
  return [...upscalerModels(), ...faceCatalogModels()];
}

function upscalerModels(): CatalogModel[] {
  return [
    rrdb('RealESRGAN_x4plus', 'v0.1.0', 23, 4, 'General photos x4 (RRDBNet, 23 blocks, GAN-trained)', {
      sha256: '4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1',
      bytes: 67_040_989,
    }),
    // No sha256 was ever published: the store records the first download's (trust on first use).
    rrdb('RealESRNet_x4plus', 'v0.1.1', 23, 4, 'General photos x4, smoother (RRDBNet, PSNR-oriented, no GAN)', {}),
    rrdb('RealESRGAN_x4plus_anime_6B', 'v0.2.2.4', 6, 4, 'Anime illustrations x4 (RRDBNet, 6 blocks)', {
      sha256: 'f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da',
      bytes: 17_938_799,
    }),
    rrdb('RealESRGAN_x2plus', 'v0.2.1', 23, 2, 'General photos x2 (RRDBNet, 23 blocks)', {
      sha256: '49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb',
      bytes: 67_061_725,
    }),
    srvgg('realesr-general-x4v3', 32, 'General scenes x4, small and fast (SRVGGNetCompact); the default, supports denoise', {
      sha256: '8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292',
      bytes: 4_885_111,
    }),
    srvgg('realesr-animevideov3', 16, 'Anime video frames x4, extra small (SRVGGNetCompact)', {
      sha256: 'b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d',
      bytes: 2_504_012,
    }),
    srvgg('realesr-general-wdn-x4v3', 32, 'General scenes x4, weak denoising (keeps noise): the denoise 0 end of realesr-general-x4v3', {
      sha256: '1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca',
      bytes: 4_885_111,
    }),
  ];
}

/** Adds every catalog model to the registry (explicitly: importing this module registers nothing). */
export function registerBuiltinModels(registry: ModelRegistry, options: { replace?: boolean } = {}): ModelRegistry {
  for (const model of catalogModels()) registry.register(model, options);
  return registry;
}
