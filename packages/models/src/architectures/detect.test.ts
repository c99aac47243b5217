import { InvalidOptionError, UnsupportedArchitectureError } from '@superres/core';
import { describe, expect, it } from 'vitest';
import type { StateDict } from '../checkpoint/types.js';
import { buildGraphFromStateDict, detectArchitecture } from './detect.js';

function put(sd: StateDict, prefix: string, out: number, input: number, kernel = 3): void {
  const n = out * input * kernel * kernel;
  sd.set(`${prefix}.weight`, { dtype: 'float32', shape: [out, input, kernel, kernel], data: new Float32Array(n).fill(0.01) });
  sd.set(`${prefix}.bias`, { dtype: 'float32', shape: [out], data: new Float32Array(out) });
}

/** BasicSR RRDBNet, num_feat 4, num_grow_ch 2, one block; unshuffle 2 makes it x2. */
function rrdbX2(): StateDict {
  const sd: StateDict = new Map();
  put(sd, 'conv_first', 4, 12);
  for (let k = 1; k <= 3; k++) for (let j = 1; j <= 5; j++) put(sd, `body.0.rdb${k}.conv${j}`, j < 5 ? 2 : 4, 4 + (j - 1) * 2);
  for (const name of ['conv_body', 'conv_up1', 'conv_up2', 'conv_hr']) put(sd, name, 4, 4);
  put(sd, 'conv_last', 3, 4);
  return sd;
}

/** SRVGGNetCompact with PReLU, num_feat 4, num_conv 1, x4. */
function srvggX4(): StateDict {
  const sd: StateDict = new Map();
  put(sd, 'body.0', 4, 3);
  put(sd, 'body.2', 4, 4);
  put(sd, 'body.4', 48, 4);
  for (const i of [1, 3]) sd.set(`body.${i}.weight`, { dtype: 'float32', shape: [4], data: new Float32Array(4) });
  return sd;
}

describe('detectArchitecture', () => {
  it('names RRDBNet with hyperparameters and geometry, like the built graph', () => {
    const detected = detectArchitecture(rrdbX2());
    expect(detected).toEqual({
      architecture: 'RRDBNet',
      kind: 'upscaler',
      hyperparameters: {
        numInCh: 3,
        numOutCh: 3,
        numFeat: 4,
        numGrowCh: 2,
        numBlock: 1,
        scale: 2,
        unshuffle: 2,
        upsample: [2, 2],
        keyLayout: 'basicsr',
      },
      // Widest: 4 features at 2 x 2 times the unshuffled resolution, 64 / 4 per input pixel.
      geometry: { scale: 2, alignment: 2, receptiveRadius: 38, workingBytesPerPixel: 4 * (5 * 16 + 3 + 3 * 4) },
      // Per pixel of the features (input / 2): conv_first 432, 3 RDBs 2808, conv_body 144; the two
      // conv_up at 4x and 16x the area 576 + 2304; conv_hr + conv_last at 16x 4032: 10296 / 16.
      macsPerOutputPixel: 643.5,
    });
    const built = buildGraphFromStateDict(rrdbX2());
    expect({ ...built, onnx: undefined }).toEqual({ ...detected, onnx: undefined });
    expect(built.onnx.length).toBeGreaterThan(1000);
  });

  it('names SRVGGNetCompact', () => {
    expect(detectArchitecture(srvggX4())).toMatchObject({
      architecture: 'SRVGGNetCompact',
      hyperparameters: { numConv: 1, upscale: 4, activation: 'prelu' },
      geometry: { scale: 4, alignment: 1, receptiveRadius: 3 },
    });
    expect(buildGraphFromStateDict(srvggX4()).architecture).toBe('SRVGGNetCompact');
  });

  it('passes the upscale option on and refuses options that do not apply', () => {
    expect(detectArchitecture(rrdbX2(), { upscale: 2 }).geometry.scale).toBe(2);
    expect(() => detectArchitecture(rrdbX2(), { activation: 'relu' })).toThrow(InvalidOptionError);
    expect(() => buildGraphFromStateDict(rrdbX2(), { activation: 'relu' })).toThrow(/activation applies to SRVGGNetCompact only/);
    expect(detectArchitecture(rrdbX2(), { numOutCh: 3 }).architecture).toBe('RRDBNet');
    expect(() => detectArchitecture(rrdbX2(), { numOutCh: 1 })).toThrow(/conv_last has 3 output channels/);
  });

  it('names the closest candidates and the known architectures when none matches', () => {
    const sd: StateDict = new Map();
    put(sd, 'encoder.0', 4, 3);
    expect(() => detectArchitecture(sd)).toThrow(UnsupportedArchitectureError);
    expect(() => buildGraphFromStateDict(sd)).toThrow(
      /first: encoder\.0\.weight.*Closest: ParseNet \(1\/4 of its tensor patterns; no tensor like body\.<n>\., decoder\.<n>\., out_mask_conv\.\).*Known: SRVGGNetCompact, RRDBNet, (.+, )?GFPGANv1Clean, RetinaFace, ParseNet/,
    );
  });
});
