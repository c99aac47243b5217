// The face-enhance flow's own decisions (which faces, where they land, what the options allow)
// with stand-in face models: a detector that reports given faces and a restorer that paints the
// crop one colour. The networks themselves are tested against PyTorch in @superres/models.
import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidOptionError } from './errors.js';
import { enhanceFaces, selectFaces, type FaceModels, type FoundFace } from './face-enhance.js';
import type { Image } from './image.js';
import { FFHQ_TEMPLATE_512 } from './similarity-transform.js';
import { createIdentityModel } from './test-support/toy-model.js';
import { upscale } from './upscale.js';

/** A face whose landmarks are the FFHQ template scaled by `size / 512` and moved to (x, y). */
function faceAt(x: number, y: number, size: number, score = 0.99): FoundFace {
  const k = size / 512;
  return { box: [x, y, x + size, y + size], score, landmarks: FFHQ_TEMPLATE_512.map(([px, py]) => [x + px * k, y + py * k] as const) };
}

function gray(width: number, height: number, value = 100): Image {
  return { width, height, channels: 3, bitDepth: 8, data: new Uint8Array(width * height * 3).fill(value) };
}

/** Detects `faces`; restores every crop to pure red; no parser (the plain mask). */
function standIns(faces: FoundFace[], seen: Image[] = []): FaceModels {
  return {
    detect: async () => faces,
    restore: async (crop) => {
      seen.push(crop);
      const data = new Uint8Array(crop.width * crop.height * 3);
      for (let p = 0; p < crop.width * crop.height; p++) data[p * 3] = 255;
      return { ...crop, data };
    },
  };
}

const redAt = (image: Image, x: number, y: number) => {
  const o = (y * image.width + x) * image.channels;
  return [image.data[o], image.data[o + 1], image.data[o + 2]];
};

describe('selectFaces', () => {
  it("drops faces whose eyes are under 5 px apart, as GFPGANer's eye_dist_threshold", () => {
    const big = faceAt(10, 10, 100);
    const tiny = faceAt(200, 200, 15); // eyes ~3.7 px apart
    expect(selectFaces([big, tiny], 400, 400)).toEqual([big]);
  });

  it('onlyCenterFace keeps the face whose box centre is nearest the image centre', () => {
    const corner = faceAt(0, 0, 80, 0.999);
    const centre = faceAt(160, 170, 80, 0.98);
    expect(selectFaces([corner, centre], 400, 400, { onlyCenterFace: true })).toEqual([centre]);
    expect(selectFaces([], 400, 400, { onlyCenterFace: true })).toEqual([]);
  });
});

describe('enhanceFaces / upscale({ faceEnhance })', () => {
  it('pastes each restored face where it was found, scaled with the background; elsewhere the background stays', async () => {
    const input = gray(200, 120);
    const seen: Image[] = [];
    const out = await upscale(input, createIdentityModel(2), { faceEnhance: { models: standIns([faceAt(20, 10, 100)], seen) } });
    expect([out.width, out.height]).toEqual([400, 240]);
    expect(seen).toHaveLength(1);
    expect([seen[0]!.width, seen[0]!.height]).toEqual([512, 512]);
    // The face's centre (input 70, 60 -> output 140, 120) is red; the far corner is untouched.
    expect(redAt(out, 140, 120)).toEqual([255, 0, 0]);
    expect(redAt(out, 390, 230)).toEqual([100, 100, 100]);
  });

  it('reports the faces after the tiles: found, then each restored', async () => {
    const stages: string[] = [];
    await upscale(gray(200, 120), createIdentityModel(1), {
      tile: 64,
      faceEnhance: { models: standIns([faceAt(0, 0, 60), faceAt(100, 30, 60)]) },
      onProgress: (p) => stages.push(p.stage === 'faces' ? `faces ${p.facesDone}/${p.facesTotal}` : 'tile'),
    });
    // 200x120 in 64-pixel tiles: 4 x 2.
    expect(stages).toEqual([...Array<string>(8).fill('tile'), 'faces 0/2', 'faces 1/2', 'faces 2/2']);
  });

  it('onlyCenterFace restores one face of two', async () => {
    const seen: Image[] = [];
    const faces = [faceAt(0, 0, 60), faceAt(70, 30, 60)];
    const out = await upscale(gray(200, 120), createIdentityModel(1), { faceEnhance: { models: standIns(faces, seen), onlyCenterFace: true } });
    expect(seen).toHaveLength(1);
    expect(redAt(out, 100, 60)).toEqual([255, 0, 0]);
    expect(redAt(out, 30, 30)).toEqual([100, 100, 100]);
  });

  it('keeps gray + alpha inputs gray with their alpha', async () => {
    const input: Image = { width: 120, height: 120, channels: 2, bitDepth: 8, data: new Uint8Array(120 * 120 * 2) };
    for (let p = 0; p < 120 * 120; p++) input.data.set([100, 200], p * 2);
    const out = await upscale(input, createIdentityModel(1), { alpha: 'resize', faceEnhance: { models: standIns([faceAt(10, 10, 100)]) } });
    expect(out.channels).toBe(2);
    // Red by BT.601 luma: 0.299 x 255 = 76.
    expect([out.data[(60 * 120 + 60) * 2], out.data[(60 * 120 + 60) * 2 + 1]]).toEqual([76, 200]);
  });

  it('refuses a restorer that does not return a 512x512 RGB face, and a malformed option, naming it', async () => {
    const models: FaceModels = { detect: async () => [faceAt(10, 10, 100)], restore: async () => gray(256, 256) };
    await expect(enhanceFaces(gray(120, 120), gray(120, 120), models, { upscale: 1 })).rejects.toThrow(/returned a 256x256 image.*needs 512x512/);
    await expect(upscale(gray(8, 8), createIdentityModel(1), { faceEnhance: { models: { detect: 1 } } as never })).rejects.toThrow(InvalidOptionError);
    await expect(upscale(gray(8, 8), createIdentityModel(1), { faceEnhance: {} as never })).rejects.toThrow(/Invalid upscale option "faceEnhance"/);
  });

  it('stops between faces when cancelled', async () => {
    const controller = new AbortController();
    const models: FaceModels = {
      detect: async () => [faceAt(0, 0, 60), faceAt(60, 0, 60)],
      restore: async (crop) => {
        controller.abort();
        return crop;
      },
    };
    await expect(upscale(gray(120, 60), createIdentityModel(1), { faceEnhance: { models }, signal: controller.signal })).rejects.toThrow(AbortedError);
  });
});
