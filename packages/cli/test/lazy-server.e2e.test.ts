// `superres upscale` must not load the server (Fastify, BullMQ, the AWS SDK: seconds of imports
// and their memory). A module hook in the child records every module the built binary loads.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { writeTinyOnnx } from './tiny-model.js';

const run = promisify(execFile);
const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const image = needsFixture('superres upscale loads no server module', 'images', 'set5', 'LRx4', 'baby.png');
const title = existsSync(bin) ? image.title : `${image.title} (skipped: ${bin} not built; run pnpm build)`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-lazy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(image.missing || !existsSync(bin))(title, () => {
  it('upscale loads image-io and models, never @superres/server or Fastify', async () => {
    const log = join(dir, 'loaded.txt');
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';\n` +
        `export async function resolve(specifier, context, next) {\n` +
        `  const result = await next(specifier, context);\n` +
        `  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');\n` +
        `  return result;\n}\n`,
    );
    const register = join(dir, 'register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const model = await writeTinyOnnx(join(dir, 'tiny.onnx'), 2);
    await run(process.execPath, ['--import', pathToFileURL(register).href, bin, 'upscale', fixture('images', 'set5', 'LRx4', 'baby.png'), '-o', join(dir, 'out.png'), '--model', model, '-q']);
    const loaded = (await readFile(log, 'utf8')).split('\n');
    expect(loaded.some((u) => u.includes('/packages/image-io/'))).toBe(true);
    expect(loaded.some((u) => u.includes('/packages/models/'))).toBe(true);
    expect(loaded.filter((u) => u.includes('/packages/server/') || /\/(fastify|bullmq|@aws-sdk)\//.test(u))).toEqual([]);
  });
});
