import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as source from './errors.js';

type ErrorClass = new (...args: unknown[]) => Error;

const errorClasses = (module: Record<string, unknown>): Array<[string, ErrorClass]> =>
  Object.entries(module).filter(
    (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error,
  );

/** errors.ts bundled and minified as an application's bundler would, then imported. */
async function minified(): Promise<Record<string, unknown>> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./errors.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  });
  const dir = await mkdtemp(join(tmpdir(), 'superres-minified-'));
  try {
    const file = join(dir, 'errors.min.mjs');
    await writeFile(file, result.outputFiles[0]!.contents);
    return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('client error names', () => {
  it('survive minification, with codes and instanceof', async () => {
    const min = await minified();
    const names = errorClasses(source).map(([name]) => name).sort();
    expect(errorClasses(min).map(([name]) => name).sort()).toEqual(names);
    const Api = min.SuperresApiError as typeof source.SuperresApiError;
    const Timeout = min.SuperresTimeoutError as typeof source.SuperresTimeoutError;
    const Validation = min.SuperresValidationError as typeof source.SuperresValidationError;
    const api = new Api('no', { status: 500 });
    expect([api.name, api.code, api.status]).toEqual(['SuperresApiError', 'E_API', 500]);
    expect(api).toBeInstanceOf(Api);
    // As AbortSignal.timeout() names its error.
    expect([new Timeout(5).name, new Timeout(5).code]).toEqual(['TimeoutError', 'E_TIMEOUT']);
    expect([new Validation('bad', []).name, new Validation('bad', []).code]).toEqual(['SuperresValidationError', 'E_VALIDATION']);
  });
});
