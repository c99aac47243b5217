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

describe('server error names', () => {
  it('survive minification, with codes and instanceof', async () => {
    const min = await minified();
    expect(errorClasses(min).map(([name]) => name).sort()).toEqual(['RateLimitedError', 'ServerError', 'ServiceUnavailableError']);
    const Server = min.ServerError as typeof source.ServerError;
    const RateLimited = min.RateLimitedError as typeof source.RateLimitedError;
    expect(Server.name).not.toBe('ServerError'); // renamed by the minifier
    const limited = new RateLimited('slow down', 3);
    expect([limited.name, limited.code, limited.retryAfter]).toEqual(['RateLimitedError', 'E_RATE_LIMITED', 3]);
    expect(limited).toBeInstanceOf(Server);
    const server = new Server('E_NOT_FOUND', 'gone');
    expect([server.name, server.code]).toEqual(['ServerError', 'E_NOT_FOUND']);
    const Unavailable = min.ServiceUnavailableError as typeof source.ServiceUnavailableError;
    const unavailable = new Unavailable('cannot record jobs', 30);
    expect([unavailable.name, unavailable.code, unavailable.retryAfter]).toEqual(['ServiceUnavailableError', 'E_SERVICE_UNAVAILABLE', 30]);
    expect(unavailable).toBeInstanceOf(Server);
    expect(new source.RateLimitedError('x', 1).name).toBe('RateLimitedError');
  });
});
