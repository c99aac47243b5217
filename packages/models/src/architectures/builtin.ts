/**
 * The built-in architectures as registry modules: SRVGGNetCompact, RRDBNet (three key layouts)
 * and the face networks. Each wraps its own file's detection, geometry and graph builder.
 */
import { InvalidOptionError } from '@superres/core';
import { FACE_ARCHITECTURES, FACE_GEOMETRY } from '../faces/face-architectures.js';
import type { Architecture, ArchitectureOverrides } from './architecture.js';
import { RRDB_ARCHITECTURE, buildRrdbOnnx, detectRrdb, rrdbGeometry, type RrdbHyperparameters, type RrdbOverrides } from './rrdbnet.js';
import { SRVGG_ARCHITECTURE, buildSrvggOnnx, detectSrvgg, srvggGeometry, type SrvggHyperparameters } from './srvgg.js';
import { spanArchitecture } from './span.js';
import { plksrArchitecture, realPlksrArchitecture } from './plksr.js';
import { omnisrArchitecture } from './omnisr.js';
import { swinirArchitecture } from './swinir.js';
import { hatArchitecture } from './hat.js';
import { datArchitecture } from './dat.js';

/** A 3x3 convolution's multiply-accumulates per pixel of its output. */
const conv3 = (inCh: number, outCh: number) => 9 * inCh * outCh;

export const srvggArchitecture: Architecture<SrvggHyperparameters> = {
  name: SRVGG_ARCHITECTURE,
  kind: 'upscaler',
  signature: [/^body\.0\.weight$/, /^body\.\d+\.weight$/, /^body\.\d+\.bias$/],
  detect: (stateDict, overrides) => detectSrvgg(stateDict, overrides),
  geometry: srvggGeometry,
  macsPerOutputPixel(h) {
    const perInputPixel = conv3(h.numInCh, h.numFeat) + h.numConv * conv3(h.numFeat, h.numFeat) + conv3(h.numFeat, h.numOutCh * h.upscale ** 2);
    return perInputPixel / h.upscale ** 2;
  },
  build: (stateDict, _hyper, overrides) => buildSrvggOnnx(stateDict, overrides).onnx,
};

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

export const rrdbArchitecture: Architecture<RrdbHyperparameters> = {
  name: RRDB_ARCHITECTURE,
  kind: 'upscaler',
  // BasicSR's names | the original ESRGAN's RRDB_trunk names | its flattened `model.N` names.
  signature: [
    /^(conv_first|model\.0)\./,
    /^(body\.\d+\.rdb\d\.conv\d|RRDB_trunk\.\d+\.RDB\d\.conv\d|model\.1\.sub\.\d+\.RDB\d\.conv\d\.0)\./,
    /^(conv_body|trunk_conv|model\.1\.sub\.\d+)\./,
    /^(conv_up\d|upconv\d|model\.[36])\./,
    /^(conv_hr|HRconv|model\.8)\./,
    /^(conv_last|model\.10)\./,
  ],
  detect(stateDict, overrides) {
    const hyper = detectRrdb(stateDict, rrdbOverrides(overrides));
    if (hyper) checkNumOutCh(overrides, hyper.numOutCh);
    return hyper;
  },
  geometry: rrdbGeometry,
  macsPerOutputPixel(h) {
    const inCh = h.numInCh * h.unshuffle ** 2;
    let rdb = 0;
    for (let k = 0; k < 5; k++) rdb += conv3(h.numFeat + k * h.numGrowCh, k < 4 ? h.numGrowCh : h.numFeat);
    // Per pixel of the features (the input after pixel_unshuffle); each upsampling widens the area.
    let macs = conv3(inCh, h.numFeat) + h.numBlock * 3 * rdb + conv3(h.numFeat, h.numFeat);
    let area = 1;
    for (const factor of h.upsample) {
      area *= factor ** 2;
      macs += area * conv3(h.numFeat, h.numFeat);
    }
    macs += area * (conv3(h.numFeat, h.numFeat) + conv3(h.numFeat, h.numOutCh));
    return macs / area;
  },
  build: (stateDict, _hyper, overrides) => buildRrdbOnnx(stateDict, rrdbOverrides(overrides)).onnx,
};

const FACE_SIGNATURES: Record<string, RegExp[]> = {
  GFPGANv1Clean: [/^conv_body_first\./, /^conv_body_down\.\d+\./, /^stylegan_decoder\./, /^final_linear\./, /^toRGB\.\d+\./],
  RetinaFace: [/^body\./, /^fpn\./, /^ssh\d\./, /^ClassHead\./, /^BboxHead\./, /^LandmarkHead\./],
  ParseNet: [/^encoder\.\d+\./, /^body\.\d+\./, /^decoder\.\d+\./, /^out_mask_conv\./],
};

export const faceArchitectures: readonly Architecture[] = FACE_ARCHITECTURES.map(
  (face): Architecture => ({
    name: face.name,
    kind: face.kind,
    signature: FACE_SIGNATURES[face.name] ?? [],
    detect: (stateDict) => face.detect(stateDict),
    geometry: () => ({ ...FACE_GEOMETRY }),
    build: (stateDict) => face.build(stateDict).onnx,
  }),
);

export const BUILTIN_ARCHITECTURES: readonly Architecture[] = [
  srvggArchitecture,
  rrdbArchitecture,
  spanArchitecture,
  plksrArchitecture,
  realPlksrArchitecture,
  omnisrArchitecture,
  swinirArchitecture,
  hatArchitecture,
  datArchitecture,
  ...faceArchitectures,
];
