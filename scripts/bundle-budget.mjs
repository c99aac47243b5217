#!/usr/bin/env node
/**
 * Browser bundle budgets, gzipped (zlib level 9, 1 kB = 1000 bytes), printed and asserted:
 *   - the SDK alone: `import { createClient } from '@superres/sdk'`, bundled and minified by
 *     esbuild for browsers: under 10 kB;
 *   - the demo (apps/demo/dist, `pnpm build` first): the JavaScript a visitor's browser loads to
 *     upscale on its own machine, on each path the worker takes (a browser without WebGPU gets
 *     onnxruntime-web's WebAssembly build, one with an adapter its WebGPU build), onnxruntime's
 *     .wasm excluded: under 150 kB each.
 * Exit 1 when a budget is exceeded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KB = 1000;
const SDK_BUDGET = 10 * KB;
const DEMO_BUDGET = 150 * KB;
const gzipped = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (bytes) => `${(bytes / KB).toFixed(1)} kB`;

async function bundleSize(contents) {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0].contents;
  return { raw: bytes.length, gzip: gzipped(bytes) };
}

const rows = [];
const failures = [];
function record(name, gzip, budget, note = '') {
  rows.push({ name, gzip, budget, note });
  if (budget !== undefined && gzip >= budget) failures.push(`${name}: ${kb(gzip)} gzipped, budget ${kb(budget)}`);
}

// The SDK as a browser app imports it (the built package, as npm users get it).
const sdk = join(root, 'packages/sdk/dist/index.js');
record('sdk: createClient', (await bundleSize(`import { createClient } from ${JSON.stringify(sdk)}; globalThis.c = createClient;`)).gzip, SDK_BUDGET);
record(
  'sdk: createClient + schemaValidation',
  (await bundleSize(`import { createClient, schemaValidation } from ${JSON.stringify(sdk)}; globalThis.c = [createClient, schemaValidation];`)).gzip,
  undefined,
  'opt-in: zod/mini and every schema',
);

// The demo as built for deployment.
const assets = join(root, 'apps/demo/dist/assets');
const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
const sizeOf = (prefix) => {
  const matches = files.filter((f) => f.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`apps/demo/dist/assets: expected one ${prefix}*.js, found ${matches.length}: is the demo built?`);
  return gzipped(readFileSync(join(assets, matches[0])));
};
const shared = sizeOf('index-') + sizeOf('worker-') + files.filter((f) => f.startsWith('rolldown-runtime-')).reduce((sum, f) => sum + gzipped(readFileSync(join(assets, f))), 0);
record('demo: page + worker', shared, undefined, 'our code: UI, SDK client, core, checkpoint reader, ONNX writer');
record('demo, WebAssembly path', shared + sizeOf('ort.wasm.bundle.min-'), DEMO_BUDGET, '+ onnxruntime-web/wasm');
record('demo, WebGPU path', shared + sizeOf('ort.webgpu.bundle.min-'), DEMO_BUDGET, '+ onnxruntime-web/webgpu');
for (const file of files.filter((f) => /^(face-enhance|ort\.bundle\.min)-/.test(f))) {
  record(`demo: ${file.replace(/-[\w-]+\.js$/, '')} (not loaded)`, gzipped(readFileSync(join(assets, file))), undefined, 'emitted, never loaded by the demo');
}

const width = Math.max(...rows.map((r) => r.name.length));
for (const row of rows) {
  const budget = row.budget === undefined ? '' : ` / ${kb(row.budget)} ${row.gzip < row.budget ? 'ok' : 'OVER'}`;
  console.log(`${row.name.padEnd(width)}  ${kb(row.gzip).padStart(9)}${budget}${row.note ? `  (${row.note})` : ''}`);
}
if (failures.length > 0) {
  console.error(`bundle budget exceeded:\n  ${failures.join('\n  ')}`);
  process.exitCode = 1;
}
