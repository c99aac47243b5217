/** What `superres upscale` reports per image and for the whole run, as text or as JSON lines. */
import { isSuperresError } from '@superres/core';
import { CliError } from '../cli-error.js';

export interface ImageResult {
  type: 'image';
  input: string;
  output: string;
  model: string;
  status: 'done' | 'skipped' | 'failed';
  input_size?: { width: number; height: number; channels: number; bit_depth: number };
  output_size?: { width: number; height: number; channels: number; bit_depth: number };
  /** Bytes written. */
  bytes?: number;
  timings_ms?: { decode: number; upscale: number; encode: number };
  /** Which of the input's metadata the output carries. */
  metadata?: { exif: boolean; icc: boolean; xmp: boolean };
  /** Something worth knowing about this image (an animated input, ...). */
  note?: string;
  error?: { code: string; message: string };
}

export interface RunSummary {
  type: 'summary';
  done: number;
  skipped: number;
  failed: number;
  elapsed_ms: number;
  results: ImageResult[];
}

export function errorObject(error: unknown): { code: string; message: string } {
  if (isSuperresError(error) || error instanceof CliError) return { code: error.code, message: error.message };
  const err = error as NodeJS.ErrnoException;
  if (err?.code && typeof err.code === 'string') return { code: `E_${err.code}`, message: err.message };
  return { code: 'E_INTERNAL', message: err?.message ?? String(error) };
}

export function summarize(results: ImageResult[], elapsedMs: number): RunSummary {
  const count = (s: ImageResult['status']) => results.filter((r) => r.status === s).length;
  return { type: 'summary', done: count('done'), skipped: count('skipped'), failed: count('failed'), elapsed_ms: Math.round(elapsedMs), results };
}

/** The line printed for one image (stdout for done and skipped, stderr for failed). */
export function resultLine(r: ImageResult, faces?: string): string {
  if (r.status === 'skipped') return `${r.output}: exists, skipped (--overwrite replaces it)`;
  if (r.status === 'failed') return `superres: ${r.input}: ${r.error!.message} [${r.error!.code}]`;
  const o = r.output_size!;
  const note = r.note ? `; ${r.note}` : '';
  return `${r.output}: ${o.width}x${o.height}, ${o.channels} channel(s), ${o.bit_depth}-bit (model ${r.model}${faces ? `, faces ${faces}` : ''})${note}`;
}

export function summaryLine(s: RunSummary): string {
  const failed = s.results.filter((r) => r.status === 'failed');
  const names = failed.slice(0, 5).map((r) => `${r.input} (${r.error!.code})`).join(', ');
  const more = failed.length > 5 ? `, and ${failed.length - 5} more` : '';
  return `superres: ${s.done} done, ${s.skipped} skipped, ${s.failed} failed${failed.length ? `: ${names}${more}` : ''}`;
}
