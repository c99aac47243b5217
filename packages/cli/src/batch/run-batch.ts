/**
 * Upscales planned images with one model after another. Within a model's run the work overlaps:
 * the next image decodes while the model runs on this one, and this one's output is encoded and
 * written while the model runs on the next. A failing image is recorded and the run goes on; a
 * model that cannot be opened, or an interruption, ends the run. Each output is written to a
 * temporary file and renamed when complete, so an interruption leaves no partial file.
 */
import { readFile, stat } from 'node:fs/promises';
import { throwIfAborted, upscale, type Image, type LoadedModel, type UpscaleOptions } from '@superres/core';
import { decodeImage, encodeImageToFile, readImageMetadata, type EncodeOptions, type EncodeReport, type ImageMetadata } from '@superres/image-io';
import { writeFileAtomic } from '@superres/models/node';
import type { PlannedOutput } from './outputs.js';
import { errorObject, type ImageResult } from './results.js';
import type { UpscaleProgress } from '@superres/core';

export interface BatchModel {
  /** The tag planned outputs carry for this model ('' with one model). */
  tag: string;
  /** As the user named it (id or file), until it is open and has an id. */
  name: string;
  /** Opens it (called once, after the first image of its run decodes). */
  open(): Promise<LoadedModel>;
}

export interface BatchOptions {
  upscale: Omit<UpscaleOptions, 'signal' | 'onProgress'>;
  /** The scale asked for; default: each model's own. */
  scale?: number;
  encode: Omit<EncodeOptions, 'format' | 'metadata'>;
  /** Carry EXIF, ICC and XMP from each input to its output (false: --strip). */
  keepMetadata: boolean;
  maxPixels?: number;
  signal?: AbortSignal;
  /** Progress of image `index` (1-based) of `total`. */
  onProgress?(label: string, index: number, total: number, progress: UpscaleProgress): void;
  onImageStart?(label: string, index: number, total: number): void;
  onImageEnd?(label: string, index: number, total: number): void;
  onResult?(result: ImageResult): void;
}

const elapsed = (since: number) => Math.round(performance.now() - since);
const sizeOf = (i: Image) => ({ width: i.width, height: i.height, channels: i.channels, bit_depth: i.bitDepth });

interface Decoded {
  image?: Image;
  metadata?: ImageMetadata;
  error?: unknown;
  ms: number;
}

async function decode(path: string, options: BatchOptions): Promise<Decoded> {
  const started = performance.now();
  try {
    const bytes = await readFile(path);
    const image = await decodeImage(bytes, options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {});
    // Frames are counted even with --strip: an animated input is reported as such.
    const metadata = await readImageMetadata(bytes);
    return { image, metadata: options.keepMetadata ? metadata : { pages: metadata.pages }, ms: elapsed(started) };
  } catch (error) {
    return { error, ms: elapsed(started) };
  }
}

export async function runBatch(planned: readonly PlannedOutput[], models: readonly BatchModel[], options: BatchOptions): Promise<ImageResult[]> {
  const results: ImageResult[] = [];
  const total = planned.length;
  let index = 0;
  const record = (r: ImageResult) => {
    results.push(r);
    options.onResult?.(r);
  };

  for (const entry of models) {
    const items = planned.filter((p) => p.tag === entry.tag);
    let model: LoadedModel | undefined;
    let modelId = entry.name;
    const work = items.filter((p) => !p.skip);
    for (const p of items.filter((q) => q.skip)) {
      index++;
      record({ type: 'image', input: p.input.path, output: p.output, model: entry.name, status: 'skipped' });
    }
    let next = work.length > 0 ? decode(work[0]!.input.path, options) : undefined;
    let writing: Promise<void> | undefined;
    try {
      for (let i = 0; i < work.length; i++) {
        const item = work[i]!;
        index++;
        const label = item.input.relative;
        const decoded = await next!;
        next = i + 1 < work.length ? decode(work[i + 1]!.input.path, options) : undefined;
        throwIfAborted(options.signal);
        const base = { type: 'image' as const, input: item.input.path, output: item.output };
        if (!decoded.image) {
          record({ ...base, model: modelId, status: 'failed', error: errorObject(decoded.error) });
          continue;
        }
        model ??= await entry.open();
        modelId = model.id;
        options.onImageStart?.(label, index, total);
        const started = performance.now();
        let output: Image;
        try {
          output = await upscale(decoded.image, model, {
            ...options.upscale,
            outscale: options.scale ?? model.scale,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onProgress ? { onProgress: (p) => options.onProgress!(label, index, total, p) } : {}),
          });
        } catch (error) {
          options.onImageEnd?.(label, index, total);
          throwIfAborted(options.signal);
          record({ ...base, model: modelId, status: 'failed', input_size: sizeOf(decoded.image), error: errorObject(error) });
          continue;
        }
        options.onImageEnd?.(label, index, total);
        const upscaleMs = elapsed(started);
        // One encode at a time: the previous one finishes before this one starts.
        await writing;
        throwIfAborted(options.signal);
        const inputSize = sizeOf(decoded.image);
        const pages = decoded.metadata?.pages ?? 1;
        writing = encodeTo(item, output, decoded.metadata, options).then(
          ({ bytes, ms, kept }) =>
            record({
              ...base,
              model: modelId,
              status: 'done',
              input_size: inputSize,
              output_size: sizeOf(output),
              bytes,
              timings_ms: { decode: decoded.ms, upscale: upscaleMs, encode: ms },
              metadata: kept,
              ...(pages > 1 ? { note: `animated input (${pages} frames): the first frame was upscaled` } : {}),
            }),
          (error: unknown) => {
            throwIfAborted(options.signal);
            record({ ...base, model: modelId, status: 'failed', input_size: inputSize, error: errorObject(error) });
          },
        );
      }
      await writing;
    } finally {
      // An interrupted run: the decode under way is let go, the write under way finishes.
      void next?.catch(() => undefined);
      await writing?.catch(() => undefined);
      await model?.release();
    }
  }
  return results;
}

/**
 * Writes one finished image. Not cut short by an interrupt: the upscale it holds is done, and an
 * interrupt during the next image keeps it (the run stops once it is written).
 */
async function encodeTo(item: PlannedOutput, image: Image, metadata: ImageMetadata | undefined, options: BatchOptions): Promise<{ bytes: number; ms: number; kept: EncodeReport }> {
  const started = performance.now();
  let kept: EncodeReport = { exif: false, icc: false, xmp: false };
  const carried = metadata && (metadata.exif || metadata.icc || metadata.xmp) ? metadata : undefined;
  await writeFileAtomic(item.output, async (temp) => {
    kept = await encodeImageToFile(image, temp, { ...options.encode, format: item.format, ...(carried ? { metadata: carried } : {}) });
  });
  return { bytes: (await stat(item.output)).size, ms: elapsed(started), kept };
}
