import { describe, expect, it } from 'vitest';
import type { RunOptions } from './backend.js';
import type { Image, Tensor } from './image.js';
import type { LoadedModel } from './model.js';
import { randomImage } from './test-support/images.js';
import { createToyModel } from './test-support/toy-model.js';
import { autoTilePad, DEFAULT_MAX_MEMORY, tileMemory } from './tile-policy.js';
import { tileSettings, upscale, type TileProgress } from './upscale.js';

const firstDiff = (a: Image, b: Image): number => a.data.findIndex((v, i) => v !== b.data[i]);

/** A toy model whose runs finish only when the test says so: shows what the pipeline does meanwhile. */
function gatedModel(parallelism: number) {
  const toy = createToyModel({ scale: 2, layers: 1 });
  const pending: Array<() => void> = [];
  let running = 0;
  let mostAtOnce = 0;
  const model: LoadedModel = {
    ...toy,
    parallelism,
    async run(input: Tensor, options?: RunOptions) {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise<void>((resolve) => pending.push(resolve));
      running--;
      return toy.run(input, options);
    },
  };
  return { model, pending, mostAtOnce: () => mostAtOnce, calls: toy.calls };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('upscale: tile auto and tilePad auto (the defaults)', () => {
  it('runs a small image whole, with the receptive radius as pad', () => {
    const model = createToyModel({ scale: 4, layers: 3 });
    expect(tileSettings(randomImage(50, 40, 3), model)).toEqual({ tile: 0, tilePad: 3 });
    expect(tileSettings(randomImage(50, 40, 3), { ...model, receptiveRadius: 349 }).tilePad).toBe(autoTilePad(349));
  });

  it('tiles within the memory budget and equals the whole image when the pad covers the radius', async () => {
    const model = { ...createToyModel({ scale: 2, alignment: 2, layers: 2 }), workingBytesPerPixel: 2000 };
    const image = randomImage(150, 90, 4, 8, 5);
    const maxMemory = 32 * 1024 * 1024;
    const { tile, tilePad } = tileSettings(image, model, { maxMemory });
    expect(tilePad).toBe(2);
    expect(tile).toBeGreaterThan(0);
    expect(tile).toBeLessThan(150);
    const budget = { width: 150, height: 90, tilePad, scale: 2, alignment: 2, channels: 4, bytesPerSample: 1, workingBytesPerPixel: 2000, banded: false, maxMemory };
    expect(tileMemory(budget, tile)).toBeLessThanOrEqual(maxMemory);
    const auto = await upscale(image, model, { maxMemory });
    expect(model.calls.length).toBeGreaterThan(2);
    expect(firstDiff(auto, await upscale(image, model, { tile: 0 }))).toBe(-1);
  });

  it('uses the default budget when none is given', () => {
    const heavy = { ...createToyModel({ scale: 4 }), workingBytesPerPixel: 16_588 };
    const { tile } = tileSettings(randomImage(2000, 1500, 3), heavy);
    const budget = { width: 2000, height: 1500, tilePad: 2, scale: 4, alignment: 1, channels: 3, bytesPerSample: 1, workingBytesPerPixel: 16_588, banded: false, maxMemory: DEFAULT_MAX_MEMORY };
    expect(tile).toBeGreaterThan(0);
    expect(tileMemory(budget, tile)).toBeLessThanOrEqual(DEFAULT_MAX_MEMORY);
  });
});

describe('upscale: pipelining', () => {
  it('prepares the next tile while one runs, and keeps parallelism + 1 in flight at most', async () => {
    for (const parallelism of [1, 3]) {
      const gate = gatedModel(parallelism);
      const image = randomImage(40, 40, 3, 8, 1);
      const done = upscale(image, gate.model, { tile: 10, tilePad: 1 });
      await settle();
      // Tile 1 runs and tile 2 (or more) is already extracted and handed over before tile 1 ends.
      expect(gate.pending.length).toBe(parallelism + 1);
      while (gate.pending.length > 0) {
        gate.pending.shift()!();
        await settle();
        expect(gate.pending.length).toBeLessThanOrEqual(parallelism + 1);
      }
      const out = await done;
      expect(gate.mostAtOnce()).toBe(parallelism + 1);
      expect(firstDiff(out, await upscale(image, createToyModel({ scale: 2, layers: 1 }), { tile: 0 }))).toBe(-1);
    }
  });

  it('drops the tiles queued behind a failed one: their signal fires', async () => {
    const signals: AbortSignal[] = [];
    let call = 0;
    const toy = createToyModel({ scale: 2, layers: 1 });
    const model: LoadedModel = {
      ...toy,
      parallelism: 2,
      async run(input, options) {
        signals.push(options!.signal as AbortSignal);
        if (++call === 1) throw new Error('tile 1 broke');
        await new Promise((r) => setTimeout(r, 5));
        return toy.run(input);
      },
    };
    await expect(upscale(randomImage(30, 30, 3), model, { tile: 10, tilePad: 1 })).rejects.toThrow(/tile 1 broke/);
    expect(signals.length).toBeGreaterThan(1);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});

describe('upscale: the caller\'s thread stays responsive', () => {
  it('yields to the event loop while assembling a large output', async () => {
    const model = createToyModel({ scale: 4, layers: 0, nearest: true });
    const image = randomImage(1024, 768, 4, 8, 3); // 12.6 MP output, stitched and alpha-passed on this thread
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const before = ticks;
    await upscale(image, model, { tile: 0 });
    ticking = false;
    // A single unsliced pass would let the ticker run at most once or twice.
    expect(ticks - before).toBeGreaterThan(5);
  });
});

describe('upscale: progress', () => {
  it('reports elapsed time and an ETA that reaches 0 at the last tile', async () => {
    const events: TileProgress[] = [];
    await upscale(randomImage(30, 20, 3), createToyModel({ scale: 2 }), { tile: 8, onProgress: (p) => p.stage === 'inference' && events.push(p) });
    expect(events.length).toBe(12);
    expect(events.every((e) => e.etaMs !== undefined && e.etaMs >= 0)).toBe(true);
    expect(events.at(-1)!.etaMs).toBe(0);
    for (let i = 1; i < events.length; i++) expect(events[i]!.elapsedMs).toBeGreaterThanOrEqual(events[i - 1]!.elapsedMs);
  });
});
