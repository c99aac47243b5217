import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, configTableMarkdown, createKeyRing, keyId, loadConfig, loadKeys } from '../src/index.js';
import { isAlwaysRefusedAddress, isPrivateAddress } from '../src/net/address-policy.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ SUPERRES_DATA_DIR: '/tmp/x' });
    expect(config.maxMemory).toBeUndefined(); // 128 MiB per job
    expect(config).toMatchObject({ port: 3000, host: '127.0.0.1', publicUrl: 'http://127.0.0.1:3000', maxScale: 8, syncWaitMs: 20000, concurrency: 2, tile: 'auto', tilePad: 'auto', allowPrivateUrls: false, apiKeys: [] });
  });

  it('parses values and names the variable of a bad one', () => {
    const config = loadConfig({ SUPERRES_PORT: '8080', SUPERRES_API_KEYS: ' a, b ,,', SUPERRES_ALLOW_PRIVATE_URLS: 'yes', SUPERRES_PUBLIC_URL: 'https://sr.example.com/' });
    expect(config).toMatchObject({ port: 8080, apiKeys: ['a', 'b'], allowPrivateUrls: true, publicUrl: 'https://sr.example.com' });
    expect(() => loadConfig({ SUPERRES_PORT: 'eighty' })).toThrow(/SUPERRES_PORT/);
    expect(() => loadConfig({ SUPERRES_MAX_SCALE: '-1' })).toThrow(/SUPERRES_MAX_SCALE/);
    expect(() => loadConfig({ SUPERRES_ALLOW_PRIVATE_URLS: 'maybe' })).toThrow(/SUPERRES_ALLOW_PRIVATE_URLS.*maybe/);
  });

  it('reads tiles as auto or a number, the memory budget as a size, and the worker pool', () => {
    expect(loadConfig({ SUPERRES_TILE: '128', SUPERRES_TILE_PAD: 'auto' })).toMatchObject({ tile: 128, tilePad: 'auto' });
    expect(loadConfig({ SUPERRES_MAX_MEMORY: '1.5G', SUPERRES_WORKERS: '2', SUPERRES_THREADS: '1' })).toMatchObject({
      maxMemory: 1.5 * 1024 ** 3,
      workers: 2,
      threads: 1,
    });
    expect(() => loadConfig({ SUPERRES_TILE: 'big' })).toThrow(/SUPERRES_TILE.*auto/);
    expect(() => loadConfig({ SUPERRES_MAX_MEMORY: 'plenty' })).toThrow(/SUPERRES_MAX_MEMORY.*512M/);
    expect(() => loadConfig({ SUPERRES_WORKERS: '0' })).toThrow(/SUPERRES_WORKERS/);
  });

  it('reads SUPERRES_MODELS_BASE_URL (the model store\'s mirror) as an http(s) URL, naming it when it is not one', () => {
    expect(loadConfig({}).modelsBaseUrl).toBeUndefined();
    expect(loadConfig({ SUPERRES_MODELS_BASE_URL: ' https://mirror.example.com/superres/ ' }).modelsBaseUrl).toBe('https://mirror.example.com/superres/');
    expect(() => loadConfig({ SUPERRES_MODELS_BASE_URL: 'mirror.example.com' })).toThrow(/SUPERRES_MODELS_BASE_URL/);
    expect(() => loadConfig({ SUPERRES_MODELS_BASE_URL: 'file:///srv/weights' })).toThrow(/SUPERRES_MODELS_BASE_URL: expected an http/);
  });

  it('reads SUPERRES_ARCHITECTURES as module URLs (paths resolved against the working directory)', () => {
    expect(loadConfig({}).architectureModules).toEqual([]);
    const config = loadConfig({ SUPERRES_ARCHITECTURES: 'mods/a.mjs, /opt/b.mjs,file:///srv/c.mjs' });
    expect(config.architectureModules).toEqual([pathToFileURL(join(process.cwd(), 'mods/a.mjs')).href, 'file:///opt/b.mjs', 'file:///srv/c.mjs']);
  });

  it('documents every variable in one table, storage and the model mirror included', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    for (const name of ['SUPERRES_PORT', 'SUPERRES_REDIS_URL', 'SUPERRES_SYNC_WAIT_MS', 'SUPERRES_S3_BUCKET', 'SUPERRES_WEBHOOK_SECRET', 'SUPERRES_MODELS_BASE_URL']) expect(names).toContain(name);
    expect(new Set(names).size).toBe(names.length);
    expect(configTableMarkdown()).toContain('| `SUPERRES_MAX_SCALE` | 8 |');
  });

  it('says what SUPERRES_ALLOW_PRIVATE_URLS allows as the address policy has it: link-local stays refused', () => {
    const { description } = CONFIG_VARIABLES.find((v) => v.name === 'SUPERRES_ALLOW_PRIVATE_URLS')!;
    expect(description).toMatch(/private and loopback addresses\. Link-local addresses .* stay refused even then/);
    for (const allowed of ['10.0.0.1', '127.0.0.1', '::1']) expect([isPrivateAddress(allowed), isAlwaysRefusedAddress(allowed)], allowed).toEqual([true, false]);
    for (const refused of ['169.254.169.254', 'fe80::1', '100.100.100.200', '224.0.0.1', '255.255.255.255']) expect(isAlwaysRefusedAddress(refused), refused).toBe(true);
  });

  it('the README shows the table as the code has it', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configTableMarkdown());
  });
});

describe('keys', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('generates keys once, stores them 0600, and recognises them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'superres-keys-'));
    dirs.push(dir);
    const first = await loadKeys({ apiKeys: [], adminKeys: [], dataDir: dir });
    expect(first.generated.map((g) => g.kind)).toEqual(['api', 'admin']);
    const api = first.generated[0]!;
    expect((await stat(api.path)).mode & 0o777).toBe(0o600);
    expect((await readFile(api.path, 'utf8')).trim()).toBe(api.key);
    const again = await loadKeys({ apiKeys: [], adminKeys: [], dataDir: dir });
    expect(again.generated).toEqual([]);
    expect(again.ring.check(api.key)).toEqual({ keyId: keyId(api.key), admin: false });
    expect(again.ring.check(first.generated[1]!.key)?.admin).toBe(true);
  });

  it('checks configured keys and gives stable non-secret ids', () => {
    const ring = createKeyRing(['k1', 'k2'], ['adm']);
    expect(ring.check('k2')).toEqual({ keyId: keyId('k2'), admin: false });
    expect(ring.check('adm')?.admin).toBe(true);
    for (const bad of ['k', 'k1 ', '', undefined, 42, 'x'.repeat(5000)]) expect(ring.check(bad)).toBeUndefined();
    expect(keyId('k1')).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId('k1')).not.toContain('k1');
    expect(keyId('k1')).toBe(keyId('k1'));
  });
});
