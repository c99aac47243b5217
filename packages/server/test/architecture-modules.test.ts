// SUPERRES_ARCHITECTURES at the server's start: the modules register into the server's registry
// (the pool's workers load them too, as the CLI's e2e test shows through a conversion); a module
// that does not load stops the start, naming it, and takes back the keys the start generated.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { architectures } from '@superres/models';
import { loadConfig, startServer } from '../src/index.js';

const MODULE = `
export default ({ registerArchitecture, OnnxGraphBuilder }) => registerArchitecture({
  name: 'ServerShift',
  kind: 'upscaler',
  signature: [/^server_shift\\.weight$/],
  detect: (sd) => (sd.has('server_shift.weight') && sd.size === 1 ? {} : undefined),
  geometry: () => ({ scale: 1, alignment: 1, receptiveRadius: 0 }),
  build: () => new OnnxGraphBuilder('unused').toBytes(),
});
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-server-arch-'));
  await writeFile(join(dir, 'server-shift.mjs'), MODULE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = (dataDir: string, modules: string) =>
  loadConfig({ SUPERRES_PORT: '0', SUPERRES_DATA_DIR: join(dir, dataDir), SUPERRES_MODELS_DIR: join(dir, 'models'), SUPERRES_ARCHITECTURES: modules });

describe('SUPERRES_ARCHITECTURES in the server', () => {
  it('registers the modules before the server answers', async () => {
    expect(architectures.list().map((a) => a.name)).not.toContain('ServerShift');
    const server = await startServer(config('ok', join(dir, 'server-shift.mjs')), { logger: false });
    try {
      expect(architectures.list().map((a) => a.name)).toContain('ServerShift');
    } finally {
      await server.close();
    }
  });

  it('a module that does not load stops the start, naming it, and leaves no generated key behind', async () => {
    await expect(startServer(config('broken', join(dir, 'missing.mjs')), { logger: false })).rejects.toThrow(/missing\.mjs could not be loaded/);
    expect(await readdir(join(dir, 'broken')).catch(() => [])).not.toContain('api-key');
  });
});
