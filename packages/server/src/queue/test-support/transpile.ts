/**
 * Test support: child processes run the real queue code. Plain `node` cannot import .ts and the
 * package's dist may be stale or mid-rebuild while others work, so the queue sources
 * (`src/queue/*.ts`, tests excluded) are transpiled with TypeScript's transpileModule into a
 * temporary directory whose `node_modules` is a symlink to this package's, so `bullmq` and
 * `ioredis` resolve exactly as they do for the package.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const queueDir = dirname(dirname(fileURLToPath(import.meta.url)));
/** Modules of `src/` the queue imports (type-only imports vanish when transpiled). */
const OUTSIDE_QUEUE = ['probe-write.ts', 'errors-http.ts', 'errors.ts'];
const packageDir = dirname(dirname(queueDir));

export interface ChildSandbox {
  /** The temporary directory; the transpiled queue modules are in `<dir>/queue/*.js`. */
  dir: string;
  /** Writes an ES module script into the sandbox and returns its path. */
  writeScript(name: string, source: string): Promise<string>;
  remove(): Promise<void>;
}

export async function createChildSandbox(): Promise<ChildSandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'superres-queue-child-'));
  await mkdir(join(dir, 'queue'));
  await symlink(join(packageDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const sources = (await readdir(queueDir))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
    .map((name) => ({ from: join(queueDir, name), to: join(dir, 'queue', name) }));
  // What the queue modules import from outside their folder.
  for (const name of OUTSIDE_QUEUE) sources.push({ from: join(dirname(queueDir), name), to: join(dir, name) });
  for (const { from, to } of sources) {
    const name = from.slice(from.lastIndexOf('/') + 1);
    const source = await readFile(from, 'utf8');
    const out = ts.transpileModule(source, {
      fileName: name,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        sourceMap: false,
      },
    });
    await writeFile(to.replace(/\.ts$/, '.js'), out.outputText);
  }
  return {
    dir,
    async writeScript(name, source) {
      const path = join(dir, name);
      await writeFile(path, source);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
