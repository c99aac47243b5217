// A module as an application's bundler ships it (esbuild, bundled and minified, class names not
// kept), imported back, and the Error subclasses it exports: for tests that error names survive.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export type ErrorClass = new (...args: unknown[]) => Error;

export async function importMinified(entryPoint: string): Promise<Record<string, unknown>> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    minify: true,
    keepNames: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const dir = await mkdtemp(join(tmpdir(), 'superres-minified-'));
  try {
    const file = join(dir, 'module.min.mjs');
    await writeFile(file, result.outputFiles[0]!.contents);
    return (await import(/* @vite-ignore */ pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The module's exports that are Error subclasses, by export name. */
export function errorClasses(module: Record<string, unknown>): Array<[string, ErrorClass]> {
  return Object.entries(module).filter(
    (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && (entry[1] as { prototype?: unknown }).prototype instanceof Error,
  );
}
