import { describe, expect, it } from 'vitest';
import { AbortedError, BackendError, BadImageError, ImageTooLargeError, InvalidOptionError } from './errors.js';
import type { Image, Tensor } from './image.js';
import { createImage } from './image.js';
import type { LoadedModel } from './model.js';
import { resampleLanczos } from './resample.js';
import { randomImage } from './test-support/images.js';
import { referenceEnhance } from './test-support/reference.js';
import { createIdentityModel, createToyModel } from './test-support/toy-model.js';
import { upscale, type TileProgress } from './upscale.js';

const firstDiff = (a: Image, b: Image): number => a.data.findIndex((v, i) => v !== b.data[i]);

describe('upscale: tiled equals whole-image', () => {
  const models = [
    createToyModel({ scale: 4, alignment: 1, layers: 2 }),
    createToyModel({ scale: 2, alignment: 2, layers: 3 }),
    createToyModel({ scale: 1, alignment: 4, layers: 2 }),
  ];
  const sizes = [[13, 9], [1, 1], [7, 1], [1, 5], [20, 17]] as const;

  for (const model of models) {
    it(`x${model.scale} (alignment ${model.alignment}, radius ${model.receptiveRadius})`, async () => {
      for (const [w, h] of sizes) {
        const image = randomImage(w, h, 3, 8, w * 31 + h);
        for (const prePad of [0, 2, 15]) {
          const whole = await upscale(image, model, { tile: 0, prePad });
          expect([whole.width, whole.height]).toEqual([w * model.scale, h * model.scale]);
          const reference = await referenceEnhance(image, model, { prePad });
          expect(firstDiff(whole, reference), `whole vs reference ${w}x${h} prePad ${prePad}`).toBe(-1);
          for (const tile of [1, 3, 5, 8, 64]) {
            for (const tilePad of [model.receptiveRadius, model.receptiveRadius + 1]) {
              const tiled = await upscale(image, model, { tile, tilePad, prePad });
              expect(firstDiff(tiled, whole), `${w}x${h} tile ${tile} pad ${tilePad} prePad ${prePad}`).toBe(-1);
            }
          }
        }
      }
    });
  }

  it('differs when tilePad < receptive radius (the comparison can fail)', async () => {
    const model = createToyModel({ scale: 2, alignment: 1, layers: 3 });
    const image = randomImage(20, 17, 3, 8, 5);
    const whole = await upscale(image, model);
    const tiled = await upscale(image, model, { tile: 6, tilePad: 1 });
    expect(firstDiff(tiled, whole)).toBeGreaterThanOrEqual(0);
  });

  it('runs tiles of at most tile + 2 * pad pixels, aligned', async () => {
    const model = createToyModel({ scale: 2, alignment: 2, layers: 1 });
    await upscale(randomImage(31, 19, 3), model, { tile: 7, tilePad: 3 }); // rounded to 8 and 4
    expect(model.calls.length).toBe(4 * 3);
    for (const [h, w] of model.calls) {
      expect(h).toBeLessThanOrEqual(16);
      expect(w).toBeLessThanOrEqual(16);
    }
  });
});

describe('upscale: channels, alpha and bit depth', () => {
  const toy = createToyModel({ scale: 2, alignment: 1, layers: 2 });

  it('gray in -> gray out (RGB2GRAY of the model output)', async () => {
    const image = randomImage(9, 6, 1, 8, 2);
    const out = await upscale(image, toy, { tile: 4 });
    expect([out.width, out.height, out.channels, out.bitDepth]).toEqual([18, 12, 1, 8]);
    expect(firstDiff(out, await referenceEnhance(image, toy))).toBe(-1);
    const identity = await upscale(image, createIdentityModel(2));
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 18; x++) expect(identity.data[y * 18 + x]).toBe(image.data[(y >> 1) * 9 + (x >> 1)]);
    }
  });

  it('2-channel in -> 2-channel out, alpha through the model', async () => {
    const image = randomImage(8, 5, 2, 8, 3);
    const out = await upscale(image, toy, { tile: 3, tilePad: 2 });
    expect([out.width, out.height, out.channels]).toEqual([16, 10, 2]);
    expect(firstDiff(out, await referenceEnhance(image, toy))).toBe(-1);
  });

  it('RGBA in -> RGBA out, alpha "model"', async () => {
    const image = randomImage(11, 7, 4, 8, 4);
    const out = await upscale(image, toy, { tile: 5, prePad: 3 });
    expect([out.width, out.height, out.channels]).toEqual([22, 14, 4]);
    expect(firstDiff(out, await referenceEnhance(image, toy, { prePad: 3 }))).toBe(-1);
  });

  it('RGBA in -> RGBA out, alpha "resize" (bilinear), colour through the model', async () => {
    const image = createImage(2, 1, 4, 8);
    image.data.set([10, 20, 30, 0, 40, 50, 60, 255]);
    const out = await upscale(image, createIdentityModel(2), { alpha: 'resize' });
    const alpha = Array.from(out.data.filter((_, i) => i % 4 === 3));
    expect(alpha).toEqual([0, 64, 191, 255, 0, 64, 191, 255]);
    expect(Array.from(out.data.slice(0, 8))).toEqual([10, 20, 30, 0, 10, 20, 30, 64]);
    const noisy = randomImage(9, 8, 4, 8, 9);
    const resized = await upscale(noisy, toy, { alpha: 'resize', tile: 4 });
    const reference = await referenceEnhance(noisy, toy);
    for (let i = 0; i < resized.data.length; i++) {
      if (i % 4 !== 3) expect(resized.data[i]).toBe(reference.data[i]);
    }
  });

  it('16-bit in -> 16-bit out using the full range', async () => {
    const image = createImage(256, 2, 3, 16);
    for (let i = 0; i < image.data.length; i++) image.data[i] = Math.min(65535, (i * 257 + (i % 7) * 3) % 65536);
    image.data[0] = 65535;
    image.data[1] = 0;
    const same = await upscale(image, createIdentityModel(1, 4), { tile: 16 });
    expect(same.data).toBeInstanceOf(Uint16Array);
    expect(firstDiff(same, image)).toBe(-1);
    const noisy = randomImage(10, 9, 4, 16, 11);
    const out = await upscale(noisy, toy, { tile: 4 });
    expect(out.bitDepth).toBe(16);
    expect(out.data.some((v) => v > 255 && v < 65280)).toBe(true);
    expect(out.data.includes(65535)).toBe(true);
    expect(firstDiff(out, await referenceEnhance(noisy, toy))).toBe(-1);
  });

  it('clamps model outputs outside [0, 1]', async () => {
    const wild: LoadedModel = {
      ...createIdentityModel(1),
      async run(input: Tensor) {
        return { data: input.data.map((_, i) => (i % 2 ? 1.7 : -0.4)), dims: input.dims };
      },
    };
    const out = await upscale(createImage(3, 2, 3, 16), wild);
    expect(Array.from(out.data)).toEqual(Array.from({ length: 18 }, (_, i) => ((i % 3) * 6 + Math.floor(i / 3)) % 2 ? 65535 : 0));
  });
});

describe('upscale: opaque alpha', () => {
  const alphaOf = (image: Image): number[] => Array.from(image.data.filter((_, i) => i % image.channels === image.channels - 1));
  const colourOf = (image: Image): number[] => Array.from(image.data.filter((_, i) => i % image.channels !== image.channels - 1));
  /** A random image with alpha, its alpha set to the maximum everywhere. */
  const opaque = (width: number, height: number, channels: 2 | 4, bitDepth: 8 | 16, seed: number): Image => {
    const image = randomImage(width, height, channels, bitDepth, seed);
    const max = bitDepth === 16 ? 65535 : 255;
    for (let i = channels - 1; i < image.data.length; i += channels) image.data[i] = max;
    return image;
  };
  const cases = [[4, 8], [4, 16], [2, 8], [2, 16]] as const;

  for (const [channels, bitDepth] of cases) {
    it(`${channels === 4 ? 'RGBA' : 'gray + alpha'} ${bitDepth}-bit, all alpha at the maximum: one pass, alpha stays the maximum`, async () => {
      const max = bitDepth === 16 ? 65535 : 255;
      const image = opaque(13, 9, channels, bitDepth, channels * 10 + bitDepth);
      const toy = createToyModel({ scale: 2, layers: 2 });
      const out = await upscale(image, toy, { tile: 4, tilePad: 2 });
      const colourTiles = toy.calls.length;
      expect(colourTiles).toBe(4 * 3);
      expect(alphaOf(out).every((a) => a === max)).toBe(true);
      // Colour is what it always was; the alpha pass would have darkened the borders (the model
      // zero-pads: an opaque canvas came out with alpha 254 at its edges).
      const withPass = await referenceEnhance(image, toy);
      expect(colourOf(out)).toEqual(colourOf(withPass));
      expect(alphaOf(withPass).some((a) => a < max)).toBe(true);

      // One sample below the maximum: the alpha pass runs, exactly as before.
      const translucent = opaque(13, 9, channels, bitDepth, channels * 10 + bitDepth);
      translucent.data[(4 * 13 + 6) * channels + channels - 1] = max - 1;
      toy.calls.length = 0;
      const passed = await upscale(translucent, toy, { tile: 4, tilePad: 2 });
      expect(toy.calls.length).toBe(2 * colourTiles);
      expect(firstDiff(passed, await referenceEnhance(translucent, toy))).toBe(-1);
    });
  }

  it('alpha "resize" and the outscale path keep opaque alpha at the maximum too', async () => {
    for (const [channels, bitDepth] of cases) {
      const max = bitDepth === 16 ? 65535 : 255;
      const image = opaque(17, 11, channels, bitDepth, 3);
      for (const alpha of ['model', 'resize'] as const) {
        for (const outscale of [2, 3, 1.5, 0.5]) {
          const toy = createToyModel({ scale: 2, layers: 1 });
          const out = await upscale(image, toy, { alpha, outscale, tile: 6, tilePad: 1 });
          expect(alphaOf(out).every((a) => a === max), `${channels}ch ${bitDepth}-bit ${alpha} x${outscale}`).toBe(true);
          expect(toy.calls.length).toBe(3 * 2);
          const native = await upscale(image, toy, { alpha, tile: 6, tilePad: 1 });
          if (outscale !== 2) {
            const resized = resampleLanczos(native, out.width, out.height);
            expect(colourOf(out)).toEqual(colourOf(resized));
          }
        }
      }
    }
  });

  it('progress counts the colour tiles only: it reaches tilesTotal', async () => {
    const events: TileProgress[] = [];
    const model = createToyModel({ scale: 2 });
    await upscale(opaque(10, 10, 4, 8, 1), model, { tile: 4, onProgress: (p) => p.stage === 'inference' && events.push({ ...p }) });
    expect(model.calls.length).toBe(9);
    expect(events.map((e) => e.tilesDone)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events.every((e) => e.tilesTotal === 9)).toBe(true);
    expect(events.at(-1)!.etaMs).toBe(0);
  });
});

describe('upscale: outscale', () => {
  it('refuses an output too large to allocate before running the model', async () => {
    let runs = 0;
    const base = createIdentityModel(4);
    const counting: LoadedModel = { ...base, run: (t, o) => (runs++, base.run(t, o)) };
    const image = randomImage(64, 64, 3, 8, 2);
    await expect(upscale(image, counting, { outscale: 1000 })).rejects.toThrow(ImageTooLargeError);
    expect(runs).toBe(0);
    expect(() => createImage(70_000, 70_000, 4, 16)).toThrow(ImageTooLargeError);
  });

  it('x4 model, outscale 3 on 126x126 gives 378x378 via Lanczos', async () => {
    const model = createToyModel({ scale: 4, layers: 1 });
    const image = randomImage(126, 126, 3, 8, 1);
    const out = await upscale(image, model, { outscale: 3, tile: 64 });
    expect([out.width, out.height, out.channels, out.bitDepth]).toEqual([378, 378, 3, 8]);
    const native = await upscale(image, model, { tile: 64 });
    expect(firstDiff(out, resampleLanczos(native, 378, 378))).toBe(-1);
  });

  it('resamples band by band exactly like resampling the whole native image', async () => {
    const model = createToyModel({ scale: 4, alignment: 2, layers: 1 });
    for (const [channels, bitDepth, alpha] of [[3, 8, 'model'], [4, 8, 'model'], [4, 16, 'resize'], [2, 8, 'resize'], [1, 16, 'model']] as const) {
      const image = randomImage(37, 29, channels, bitDepth, channels * 7 + bitDepth);
      const native = await upscale(image, model, { tile: 0, alpha });
      for (const outscale of [3, 1.5, 5.25, 0.5]) {
        for (const tile of [6, 10, 0]) {
          const banded = await upscale(image, model, { outscale, tile, tilePad: 1, alpha, prePad: 3 });
          const size = [Math.floor(37 * outscale + 1e-9), Math.floor(29 * outscale + 1e-9)] as const;
          const whole = resampleLanczos(await upscale(image, model, { tile, tilePad: 1, alpha, prePad: 3 }), size[0], size[1]);
          expect(firstDiff(banded, whole), `${channels}ch ${bitDepth}-bit ${alpha} x${outscale} tile ${tile}`).toBe(-1);
        }
      }
      expect(native.channels).toBe(channels);
    }
  });

  it('sizes: floor(size * outscale) with float error nudged, at least 1; native scale skips resampling', async () => {
    const model = createIdentityModel(2);
    const image = randomImage(100, 3, 3);
    const size = async (outscale: number) => {
      const o = await upscale(image, model, { outscale });
      return [o.width, o.height];
    };
    expect(await size(0.29)).toEqual([29, 1]); // 100 * 0.29 = 28.999999999999996
    expect(await size(2.5)).toEqual([250, 7]);
    expect(await size(0.001)).toEqual([1, 1]);
    const stages: string[] = [];
    const native = await upscale(image, model, { outscale: 2, onProgress: (p) => stages.push(p.stage) });
    expect(stages).toEqual(['inference']);
    expect([native.width, native.height]).toEqual([200, 6]);
  });

  it('a constant image stays constant through the outscale path', async () => {
    const image = createImage(13, 9, 4, 16);
    image.data.fill(40000);
    const out = await upscale(image, createIdentityModel(4), { outscale: 1.5 });
    expect([out.width, out.height]).toEqual([19, 13]);
    expect(out.data.every((v) => v === 40000)).toBe(true);
  });
});

describe('upscale: progress, abort, validation, backend errors', () => {
  it('reports progress for every tile of every pass', async () => {
    const events: TileProgress[] = [];
    await upscale(randomImage(10, 10, 4), createToyModel({ scale: 2 }), { tile: 4, onProgress: (p) => p.stage === 'inference' && events.push({ ...p }) });
    expect(events.length).toBe(18);
    expect(events.map((e) => e.tilesDone)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(events.every((e) => e.tilesTotal === 18 && e.stage === 'inference')).toBe(true);
  });

  it('aborts between tiles with AbortedError, within one tile of the abort', async () => {
    const model = createToyModel({ scale: 2 });
    const controller = new AbortController();
    const run = upscale(randomImage(10, 10, 3), model, {
      tile: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'inference' && p.tilesDone === 2) controller.abort(new Error('stop'));
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    // Tile 3 was prepared and started while tile 2 ran (one tile ahead); nothing after it.
    expect(model.calls.length).toBe(3);
  });

  it('an already aborted signal runs nothing', async () => {
    const model = createToyModel({ scale: 2 });
    const signal = AbortSignal.abort();
    await expect(upscale(randomImage(4, 4, 3), model, { signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(model.calls.length).toBe(0);
  });

  it('passes a signal linked to the caller\'s to model.run and maps a run aborted mid-way to AbortedError', async () => {
    const controller = new AbortController();
    const seen: Array<{ aborted: boolean } | undefined> = [];
    let abortedAfter: boolean | undefined;
    const model: LoadedModel = {
      ...createToyModel({ scale: 1 }),
      async run(_input, options) {
        seen.push(options?.signal && { aborted: options.signal.aborted });
        controller.abort();
        abortedAfter = options?.signal?.aborted;
        throw new Error('session interrupted');
      },
    };
    await expect(upscale(randomImage(4, 4, 3), model, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(seen).toEqual([{ aborted: false }]);
    expect(abortedAfter).toBe(true);
  });

  it.each([
    [{ tile: -1 }, 'tile', '-1'],
    [{ tile: 2.5 }, 'tile', '2.5'],
    [{ tilePad: 1.5 }, 'tilePad', '1.5'],
    [{ tilePad: -3 }, 'tilePad', '-3'],
    [{ prePad: -1 }, 'prePad', '-1'],
    [{ outscale: 0 }, 'outscale', 'received 0'],
    [{ outscale: -2 }, 'outscale', '-2'],
    [{ outscale: Number.NaN }, 'outscale', 'NaN'],
    [{ outscale: Infinity }, 'outscale', 'Infinity'],
    [{ outscale: '2' }, 'outscale', '"2"'],
    [{ alpha: 'bicubic' }, 'alpha', '"bicubic"'],
    [{ signal: {} }, 'signal', 'object'],
    [{ onProgress: 5 }, 'onProgress', '5'],
  ])('%o -> InvalidOptionError naming %s', async (options, name, received) => {
    const error = await upscale(randomImage(2, 2, 3), createIdentityModel(2), options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    const message = (error as Error).message;
    expect(message).toContain(`"${name}"`);
    expect(message).toContain('expected');
    expect(message).toContain(received);
    expect((error as InvalidOptionError).details.option).toBe(name);
  });

  it('rejects non-object options and bad images', async () => {
    await expect(upscale(randomImage(2, 2, 3), createIdentityModel(2), 'x' as never)).rejects.toThrow(InvalidOptionError);
    const bad = { width: 2, height: 2, channels: 3, bitDepth: 8, data: new Uint8Array(5) } as const;
    await expect(upscale(bad, createIdentityModel(2))).rejects.toThrow(BadImageError);
  });

  it('wrong output dims -> BackendError', async () => {
    const wrong: LoadedModel = {
      ...createIdentityModel(1),
      scale: 2,
      async run(input: Tensor) {
        return input; // not upscaled
      },
    };
    const error = await upscale(randomImage(5, 4, 3), wrong).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/dims \[1, 3, 4, 5\].*expected \[1, 3, 8, 10\]/);
    const oneChannel: LoadedModel = {
      ...createIdentityModel(1),
      async run(input: Tensor) {
        return { data: input.data.slice(0, 20), dims: [1, 1, 4, 5] };
      },
    };
    await expect(upscale(randomImage(5, 4, 3), oneChannel)).rejects.toThrow(BackendError);
  });

  it('a failing run -> BackendError with the cause', async () => {
    const cause = new Error('out of memory');
    const failing: LoadedModel = {
      ...createIdentityModel(1),
      async run() {
        throw cause;
      },
    };
    const error = await upscale(randomImage(5, 4, 3), failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).cause).toBe(cause);
    expect((error as Error).message).toContain('out of memory');
  });
});
