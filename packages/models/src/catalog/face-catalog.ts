/**
 * Face enhancement's models as catalog entries: the restorers GFPGANer loads, facexlib's two
 * RetinaFace detectors and its ParseNet face parser. URLs are the ones the upstream code
 * downloads (docs/research/face-enhance-upstream.md, section 7). Upstream publishes no checksums:
 * the sha256 and sizes below agree across independent third-party manifests, except where none
 * was found (the store then records the first download's hash, trust on first use). The
 * MobileNet-0.25 detector's was checked here against the real file.
 */
import type { ModelKind, WeightSource } from '@superres/core';
import { convertCheckpoint } from '../convert/convert-checkpoint.js';
import { FACE_GEOMETRY } from '../faces/face-architectures.js';
import { GFPGAN_ARCHITECTURE } from '../faces/gfpgan-graph.js';
import { PARSENET_ARCHITECTURE } from '../faces/parsenet-graph.js';
import { RETINAFACE_ARCHITECTURE } from '../faces/retinaface-graph.js';
import type { CatalogModel } from './catalog.js';

/** What face enhancement uses when nothing else is named (GFPGANer v1.4 with facexlib's defaults). */
export const DEFAULT_FACE_MODELS = { restorer: 'GFPGANv1.4', detector: 'retinaface_resnet50', parser: 'parsenet' } as const;

const GFPGAN = 'https://github.com/TencentARC/GFPGAN/releases/download';
const FACEXLIB = 'https://github.com/xinntao/facexlib/releases/download';

function face(
  id: string,
  kind: ModelKind,
  architecture: CatalogModel['architecture'],
  weights: WeightSource,
  description: string,
  hyperparameters: CatalogModel['hyperparameters'],
): CatalogModel {
  const checkpoint = { expect: { id, architecture, scale: FACE_GEOMETRY.scale } };
  return {
    id,
    kind,
    description,
    weights,
    architecture,
    hyperparameters,
    ...FACE_GEOMETRY,
    checkpoint,
    toOnnx: async (bytes) => convertCheckpoint(bytes, checkpoint).onnx,
  };
}

export function faceCatalogModels(): CatalogModel[] {
  const gfpgan = { out_size: 512, channel_multiplier: 2, narrow: 1 };
  return [
    face(
      'GFPGANv1.4',
      'face-restorer',
      GFPGAN_ARCHITECTURE,
      {
        url: `${GFPGAN}/v1.3.0/GFPGANv1.4.pth`,
        sha256: 'e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad',
        bytes: 348_632_874,
        license: 'Apache-2.0',
      },
      'Face restoration (GFPGAN v1.4, 512x512): the default face enhancer',
      gfpgan,
    ),
    face(
      'GFPGANv1.3',
      'face-restorer',
      GFPGAN_ARCHITECTURE,
      {
        url: `${GFPGAN}/v1.3.0/GFPGANv1.3.pth`,
        sha256: 'c953a88f2727c85c3d9ae72e2bd4846bbaf59fe6972ad94130e23e7017524a70',
        bytes: 348_632_874,
        license: 'Apache-2.0',
      },
      "Face restoration (GFPGAN v1.3, 512x512): Real-ESRGAN's --face_enhance model, more natural, less detail",
      gfpgan,
    ),
    face(
      'retinaface_resnet50',
      'face-detector',
      RETINAFACE_ARCHITECTURE,
      {
        url: `${FACEXLIB}/v0.1.0/detection_Resnet50_Final.pth`,
        sha256: '6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d',
        bytes: 109_497_761,
        license: 'MIT',
      },
      "Face detection with five landmarks (RetinaFace, ResNet-50): facexlib's and GFPGANer's default",
      { backbone: 'resnet50' },
    ),
    face(
      'retinaface_mobile0.25',
      'face-detector',
      RETINAFACE_ARCHITECTURE,
      {
        url: `${FACEXLIB}/v0.1.0/detection_mobilenet0.25_Final.pth`,
        sha256: '2979b33ffafda5d74b6948cd7a5b9a7a62f62b949cef24e95fd15d2883a65220',
        bytes: 1_789_735,
        license: 'MIT',
      },
      'Face detection with five landmarks (RetinaFace, MobileNet-0.25): light and fast, misses more small faces',
      { backbone: 'mobilenet0.25' },
    ),
    face(
      'parsenet',
      'face-parser',
      PARSENET_ARCHITECTURE,
      {
        url: `${FACEXLIB}/v0.2.2/parsing_parsenet.pth`,
        sha256: '3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2',
        bytes: 85_331_193,
        license: 'MIT',
      },
      'Face parsing into 19 classes (ParseNet): the soft mask restored faces are pasted back through',
      { classes: 19 },
    ),
  ];
}
