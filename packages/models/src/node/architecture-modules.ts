/**
 * Architecture modules a user names (SUPERRES_ARCHITECTURES: how the CLI and the server learn
 * architectures of their own). A module whose default export is a function is called with the
 * registry's API, so it registers into this process's copy of @superres/models without importing
 * a copy of its own (a module in another folder would resolve another one); a module without a
 * default export registers itself when imported (`registerArchitecture` from '@superres/models').
 * Each module is applied once per thread: the main thread and every worker of a pool.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidOptionError } from '@superres/core';
import { architectures, registerArchitecture } from '../architectures/detect.js';
import { OnnxGraphBuilder, attr } from '../onnx/onnx-graph.js';
import { messageOf } from '../runtime/ort-common.js';

/** What a module's default export is called with. */
export const architectureApi = { registerArchitecture, architectures, OnnxGraphBuilder, attr } as const;
export type ArchitectureApi = typeof architectureApi;

const applied = new Set<string>();

/** SUPERRES_ARCHITECTURES: comma-separated module paths (relative to `cwd`) or file URLs. */
export function architectureModulesFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  return (env.SUPERRES_ARCHITECTURES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => (/^file:/i.test(entry) ? new URL(entry).href : pathToFileURL(resolve(cwd, entry)).href));
}

/** Imports each module (and calls its default export with the API) once; a failure names the module. */
export async function importArchitectureModules(modules: readonly (string | URL)[]): Promise<void> {
  for (const module of modules) {
    const href = module instanceof URL ? module.href : module;
    if (applied.has(href)) continue;
    try {
      const loaded = (await import(href)) as { default?: unknown };
      if (typeof loaded.default === 'function') await (loaded.default as (api: ArchitectureApi) => unknown)(architectureApi);
      applied.add(href);
    } catch (error) {
      throw new InvalidOptionError(`Architecture module ${href} could not be loaded: ${messageOf(error)}`, {
        details: { option: 'SUPERRES_ARCHITECTURES', module: href },
        cause: error,
      });
    }
  }
}
