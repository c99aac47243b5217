import { readFileSync } from 'node:fs';
import { BadCheckpointError, createRegistry } from '@superres/core';
import { describe, expect, it } from 'vitest';
import { fixture, needsFixture } from '../../../../test-support/fixtures.js';
import { readCheckpoint } from '../checkpoint/read-checkpoint.js';
import { srvggGeometry, srvggHyperparameters } from '../architectures/srvgg.js';
import { catalogModels, registerBuiltinModels, DEFAULT_MODEL_ID } from './catalog.js';
import { stateDictToPth, tinySrvgg } from './test-support/write-pth.js';

const IDS = [
  'RealESRGAN_x4plus',
  'RealESRNet_x4plus',
  'RealESRGAN_x4plus_anime_6B',
  'RealESRGAN_x2plus',
  'realesr-general-x4v3',
  'realesr-animevideov3',
  'realesr-general-wdn-x4v3',
];
// Face models: upstream publishes no sha256; these agree across third-party manifests (the
// MobileNet one checked against the real file in ../shared/fixtures).
const FACES: Record<string, { url: string; sha256: string; bytes: number; kind: string; architecture: string; license: string }> = {
  'GFPGANv1.4': { url: 'https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth', sha256: 'e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad', bytes: 348632874, kind: 'face-restorer', architecture: 'GFPGANv1Clean', license: 'Apache-2.0' },
  'GFPGANv1.3': { url: 'https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.3.pth', sha256: 'c953a88f2727c85c3d9ae72e2bd4846bbaf59fe6972ad94130e23e7017524a70', bytes: 348632874, kind: 'face-restorer', architecture: 'GFPGANv1Clean', license: 'Apache-2.0' },
  retinaface_resnet50: { url: 'https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth', sha256: '6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d', bytes: 109497761, kind: 'face-detector', architecture: 'RetinaFace', license: 'MIT' },
  'retinaface_mobile0.25': { url: 'https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_mobilenet0.25_Final.pth', sha256: '2979b33ffafda5d74b6948cd7a5b9a7a62f62b949cef24e95fd15d2883a65220', bytes: 1789735, kind: 'face-detector', architecture: 'RetinaFace', license: 'MIT' },
  parsenet: { url: 'https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth', sha256: '3d558d8d0e42c20224f13cf5a29c79eba2d59913419f945545d8cf7b72920de2', bytes: 85331193, kind: 'face-parser', architecture: 'ParseNet', license: 'MIT' },
};

// From xinntao/Real-ESRGAN inference_realesrgan.py and the shared fixtures README.
const FACTS: Record<string, { release: string; sha256?: string; bytes?: number; scale: number }> = {
  RealESRGAN_x4plus: { release: 'v0.1.0', sha256: '4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1', bytes: 67040989, scale: 4 },
  RealESRNet_x4plus: { release: 'v0.1.1', scale: 4 },
  RealESRGAN_x4plus_anime_6B: { release: 'v0.2.2.4', sha256: 'f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da', bytes: 17938799, scale: 4 },
  RealESRGAN_x2plus: { release: 'v0.2.1', sha256: '49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb', bytes: 67061725, scale: 2 },
  'realesr-general-x4v3': { release: 'v0.2.5.0', sha256: '8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292', bytes: 4885111, scale: 4 },
  'realesr-animevideov3': { release: 'v0.2.5.0', sha256: 'b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d', bytes: 2504012, scale: 4 },
  'realesr-general-wdn-x4v3': { release: 'v0.2.5.0', sha256: '1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca', bytes: 4885111, scale: 4 },
};

describe('the built-in catalog', () => {
  it('has the seven official upscalers, realesr-general-x4v3 as the default, then the five face models', () => {
    expect(catalogModels().map((m) => m.id)).toEqual([...IDS, ...Object.keys(FACES)]);
    expect(DEFAULT_MODEL_ID).toBe('realesr-general-x4v3');
  });

  it.each(IDS)('%s has its official URL, sha256, size, licence and scale', (id) => {
    const model = catalogModels().find((m) => m.id === id)!;
    const facts = FACTS[id]!;
    expect(model.weights.url).toBe(`https://github.com/xinntao/Real-ESRGAN/releases/download/${facts.release}/${id}.pth`);
    expect(model.weights.sha256).toBe(facts.sha256);
    expect(model.weights.bytes).toBe(facts.bytes);
    expect(model.weights.license).toBe('BSD-3-Clause');
    expect(model.scale).toBe(facts.scale);
    expect(model.kind).toBe('upscaler');
    expect(model.description).toMatch(/\S/);
  });

  it.each(Object.keys(FACES))('face model %s has its upstream URL, sha256, size, licence and kind', (id) => {
    const model = catalogModels().find((m) => m.id === id)!;
    const facts = FACES[id]!;
    expect(model.weights).toEqual({ url: facts.url, sha256: facts.sha256, bytes: facts.bytes, license: facts.license });
    expect(model).toMatchObject({ kind: facts.kind, architecture: facts.architecture });
  });

  it('gives RRDBNet and SRVGGNetCompact their hyperparameters and geometry', () => {
    const byId = new Map(catalogModels().map((m) => [m.id, m]));
    expect(byId.get('RealESRGAN_x4plus')).toMatchObject({ architecture: 'RRDBNet', alignment: 1, receptiveRadius: 349 });
    expect(byId.get('RealESRGAN_x4plus')!.hyperparameters).toMatchObject({ num_feat: 64, num_grow_ch: 32, num_block: 23, scale: 4 });
    expect(byId.get('RealESRGAN_x4plus_anime_6B')!.hyperparameters).toMatchObject({ num_block: 6 });
    expect(byId.get('RealESRGAN_x2plus')).toMatchObject({ alignment: 2, receptiveRadius: 698 });
    for (const [id, numConv] of [['realesr-general-x4v3', 32], ['realesr-general-wdn-x4v3', 32], ['realesr-animevideov3', 16]] as const) {
      const model = byId.get(id)!;
      expect(model).toMatchObject({ architecture: 'SRVGGNetCompact', alignment: 1, receptiveRadius: numConv + 2 });
      expect(model.hyperparameters).toMatchObject({ num_feat: 64, num_conv: numConv, act_type: 'prelu', upscale: 4 });
    }
  });

  it('registers explicitly: a new registry is empty until registerBuiltinModels', () => {
    const registry = createRegistry();
    expect(registry.list()).toEqual([]);
    expect(registerBuiltinModels(registry)).toBe(registry);
    expect(registry.list('upscaler').map((p) => p.id)).toEqual(IDS);
    expect(registry.list('face-detector').map((p) => p.id)).toEqual(['retinaface_resnet50', 'retinaface_mobile0.25']);
    expect(() => registerBuiltinModels(registry)).toThrow(/already registered/);
  });

  it('refuses weights of another scale under a catalog id', async () => {
    const model = catalogModels().find((m) => m.id === 'realesr-animevideov3')!;
    const x2 = stateDictToPth(tinySrvgg(2));
    await expect(model.toOnnx(x2)).rejects.toThrow(BadCheckpointError);
    await expect(model.toOnnx(x2)).rejects.toThrow(/SRVGGNetCompact x4, but the file holds SRVGGNetCompact x2/);
    // The same architecture and scale converts.
    expect((await model.toOnnx(stateDictToPth(tinySrvgg(4)))).length).toBeGreaterThan(100);
  });

  const detector = needsFixture('converts the official RetinaFace MobileNet-0.25 and refuses it under a restorer id', 'weights', 'detection_mobilenet0.25_Final.pth');
  it.skipIf(detector.missing)(detector.title, async () => {
    const bytes = new Uint8Array(readFileSync(fixture('weights', 'detection_mobilenet0.25_Final.pth')));
    const byId = new Map(catalogModels().map((m) => [m.id, m]));
    expect((await byId.get('retinaface_mobile0.25')!.toOnnx(bytes))[0]).toBe(0x08);
    await expect(byId.get('GFPGANv1.4')!.toOnnx(bytes)).rejects.toThrow(/"GFPGANv1.4" should be GFPGANv1Clean, but the file holds RetinaFace$/);
    await expect(byId.get('parsenet')!.toOnnx(stateDictToPth(tinySrvgg(4)))).rejects.toThrow(/should be ParseNet, but the file holds SRVGGNetCompact x4/);
  });

  const real = needsFixture('converts the official realesr-animevideov3.pth', 'weights', 'realesr-animevideov3.pth');
  it.skipIf(real.missing)(real.title, async () => {
    const bytes = new Uint8Array(readFileSync(fixture('weights', 'realesr-animevideov3.pth')));
    const model = catalogModels().find((m) => m.id === 'realesr-animevideov3')!;
    const onnx = await model.toOnnx(bytes);
    expect(onnx[0]).toBe(0x08); // ModelProto's ir_version tag
    // The declared geometry is what the architecture module computes from the tensors.
    const geometry = srvggGeometry(srvggHyperparameters(readCheckpoint(bytes).stateDict));
    const { scale, alignment, receptiveRadius, workingBytesPerPixel } = model;
    expect({ scale, alignment, receptiveRadius, workingBytesPerPixel }).toEqual(geometry);
  });
});
