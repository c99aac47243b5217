import { InvalidOptionError, UnsupportedArchitectureError, type ModelKind } from '@superres/core';
import type { StateDict } from '../checkpoint/types.js';
import { FACE_ARCHITECTURES, FACE_GEOMETRY } from '../faces/face-architectures.js';
import { RRDB_ARCHITECTURE, buildRrdbOnnx, detectRrdb, rrdbGeometry, type RrdbOverrides } from './rrdbnet.js';
import { SRVGG_ARCHITECTURE, buildSrvggOnnx, detectSrvgg, srvggGeometry, type SrvggOverrides } from './srvgg.js';

export interface ArchitectureGeometry {
  scale: number;
  alignment: number;
  receptiveRadius: number;
  /** Runtime memory per input pixel of a tile (see working-memory.ts). */
  workingBytesPerPixel: number;
}

/** What a state dict is, without building its graph (cheap: reads shapes only). */
export interface DetectedArchitecture {
  architecture: string;
  /** What the network does: only upscalers go through `upscale()`. */
  kind: ModelKind;
  hyperparameters: Record<string, unknown>;
  geometry: ArchitectureGeometry;
}

export interface BuiltGraph extends DetectedArchitecture {
  onnx: Uint8Array;
}

/** Options for any architecture; each reads the ones that apply to it. */
export type ArchitectureOverrides = SrvggOverrides & RrdbOverrides;

interface Entry {
  name: string;
  detect(stateDict: StateDict, overrides: ArchitectureOverrides): DetectedArchitecture | undefined;
  build(stateDict: StateDict, overrides: ArchitectureOverrides): BuiltGraph;
}

const ENTRIES: readonly Entry[] = [
  {
    name: SRVGG_ARCHITECTURE,
    detect(stateDict, overrides) {
      const hyper = detectSrvgg(stateDict, overrides);
      return hyper && { architecture: SRVGG_ARCHITECTURE, kind: 'upscaler', hyperparameters: { ...hyper }, geometry: srvggGeometry(hyper) };
    },
    build(stateDict, overrides) {
      const built = buildSrvggOnnx(stateDict, overrides);
      return { architecture: SRVGG_ARCHITECTURE, kind: 'upscaler', hyperparameters: { ...built.hyper }, geometry: built.geometry, onnx: built.onnx };
    },
  },
  {
    name: `${RRDB_ARCHITECTURE} (ESRGAN, Real-ESRGAN)`,
    detect(stateDict, overrides) {
      const hyper = detectRrdb(stateDict, rrdbOverrides(overrides));
      if (!hyper) return undefined;
      checkNumOutCh(overrides, hyper.numOutCh);
      return { architecture: RRDB_ARCHITECTURE, kind: 'upscaler', hyperparameters: { ...hyper }, geometry: rrdbGeometry(hyper) };
    },
    build(stateDict, overrides) {
      const built = buildRrdbOnnx(stateDict, rrdbOverrides(overrides));
      checkNumOutCh(overrides, built.hyper.numOutCh);
      return { architecture: RRDB_ARCHITECTURE, kind: 'upscaler', hyperparameters: { ...built.hyper }, geometry: built.geometry, onnx: built.onnx };
    },
  },
  ...FACE_ARCHITECTURES.map(
    (face): Entry => ({
      name: face.name,
      detect(stateDict) {
        const hyper = face.detect(stateDict);
        return hyper && { architecture: face.name, kind: face.kind, hyperparameters: { ...hyper }, geometry: { ...FACE_GEOMETRY } };
      },
      build(stateDict) {
        const built = face.build(stateDict);
        return { architecture: face.name, kind: face.kind, hyperparameters: { ...built.hyper }, geometry: { ...FACE_GEOMETRY }, onnx: built.onnx };
      },
    }),
  ),
];

/** Names the architecture a state dict belongs to, with its hyperparameters and geometry. */
export function detectArchitecture(stateDict: StateDict, overrides: ArchitectureOverrides = {}): DetectedArchitecture {
  for (const entry of ENTRIES) {
    const detected = entry.detect(stateDict, overrides);
    if (detected) return detected;
  }
  throw unsupported(stateDict);
}

/** Names the architecture a state dict belongs to and builds its ONNX graph. */
export function buildGraphFromStateDict(stateDict: StateDict, overrides: ArchitectureOverrides = {}): BuiltGraph {
  for (const entry of ENTRIES) {
    if (entry.detect(stateDict, overrides)) return entry.build(stateDict, overrides);
  }
  throw unsupported(stateDict);
}

/** RRDBNet's activation is fixed (LeakyReLU 0.2): an activation option is a mistake worth saying. */
function rrdbOverrides(overrides: ArchitectureOverrides): RrdbOverrides {
  if (overrides.activation !== undefined) {
    throw new InvalidOptionError(
      `Option activation applies to ${SRVGG_ARCHITECTURE} only; this ${RRDB_ARCHITECTURE} checkpoint always uses LeakyReLU(0.2)`,
      { details: { option: 'activation' } },
    );
  }
  return overrides.upscale === undefined ? {} : { upscale: overrides.upscale };
}

function checkNumOutCh(overrides: ArchitectureOverrides, numOutCh: number): void {
  if (overrides.numOutCh !== undefined && overrides.numOutCh !== numOutCh) {
    throw new InvalidOptionError(
      `Option numOutCh is ${overrides.numOutCh}, but this ${RRDB_ARCHITECTURE} checkpoint's conv_last has ${numOutCh} output channels`,
      { details: { option: 'numOutCh' } },
    );
  }
}

function unsupported(stateDict: StateDict): UnsupportedArchitectureError {
  const sample = [...stateDict.keys()].slice(0, 5).join(', ');
  return new UnsupportedArchitectureError(
    `No supported architecture matches this state dict (${stateDict.size} tensors, first: ${sample || 'none'}); supported: ${ENTRIES.map((e) => e.name).join(', ')}`,
  );
}
