/**
 * The face networks as entries of the architecture registry (detect.ts), so a checkpoint of any
 * of them is recognised, converted, imported and cached exactly as an upscaler's is. They are not
 * tiled: their geometry says 1x, no alignment, no receptive radius, and `kind` keeps them out of
 * `upscale()`.
 */
import type { ModelKind } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { GFPGAN_ARCHITECTURE, buildGfpganOnnx, detectGfpgan } from './gfpgan-graph.js';
import { PARSENET_ARCHITECTURE, buildParseNetOnnx, detectParseNet } from './parsenet-graph.js';
import { RETINAFACE_ARCHITECTURE, buildRetinaFaceOnnx, detectRetinaFace, stripModulePrefix } from './retinaface-graph.js';

export interface FaceArchitecture {
  readonly name: string;
  readonly kind: ModelKind;
  detect(stateDict: StateDict): Record<string, unknown> | undefined;
  build(stateDict: StateDict): { onnx: Uint8Array; hyper: object };
}

/** Not tiled; the numbers only size a whole-image run (ONNX Runtime's live activations, roughly). */
export const FACE_GEOMETRY = { scale: 1, alignment: 1, receptiveRadius: 0, workingBytesPerPixel: 4096 } as const;

export const FACE_ARCHITECTURES: readonly FaceArchitecture[] = [
  {
    name: GFPGAN_ARCHITECTURE,
    kind: 'face-restorer',
    detect: (sd) => (detectGfpgan(sd) as Record<string, unknown> | undefined),
    build: buildGfpganOnnx,
  },
  {
    name: RETINAFACE_ARCHITECTURE,
    kind: 'face-detector',
    detect: (sd) => detectRetinaFace(stripModulePrefix(sd)) as Record<string, unknown> | undefined,
    build: buildRetinaFaceOnnx,
  },
  {
    name: PARSENET_ARCHITECTURE,
    kind: 'face-parser',
    detect: (sd) => detectParseNet(sd) as Record<string, unknown> | undefined,
    build: buildParseNetOnnx,
  },
];
