import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  AbortedError,
  ChecksumError,
  DuplicateModelError,
  InvalidOptionError,
  ModelNotFoundError,
  createRegistry,
  type ModelPlugin,
} from '@superres/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONVERTER_VERSION, buildSrvggOnnx, catalogModels, interpolateStateDicts, buildGraphFromStateDict, readCheckpoint } from '@superres/models';
import { createModelStore, loadCatalogModel, defaultModelsDir, DownloadError, type DownloadProgress } from '@superres/models/node';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';
import { stateDictToPth, tinySrvgg } from '../src/catalog/test-support/write-pth.js';
import { barrier, hang, redirectTo, serveBytes, serveTruncated, startModelServer, type ModelServer } from './model-server.js';

const ANIME = 'realesr-animevideov3';
const ANIME_SHA = 'b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const run = promisify(execFile);

let server: ModelServer;
let dir: string;
beforeAll(async () => {
  server = await startModelServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-store-'));
  server.routes.clear();
  server.requests.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = () => `${server.origin}/mirror`;
const store = (extra: Parameters<typeof createModelStore>[0] = {}) => createModelStore({ dir, baseUrl: base(), ...extra });
const thrown = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error & { code?: string });

describe('store paths', () => {
  it('defaults to SUPERRES_MODELS_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultModelsDir({ SUPERRES_MODELS_DIR: '/m' })).toBe('/m');
    expect(defaultModelsDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/superres/models');
    expect(defaultModelsDir({})).toMatch(/\.cache\/superres\/models$/);
  });
});

const real = needsFixture('pulling the official realesr-animevideov3.pth from a local server', 'weights', `${ANIME}.pth`);
describe.skipIf(real.missing)(real.title, () => {
  let weights: Uint8Array;
  beforeAll(() => {
    weights = new Uint8Array(readFileSync(fixture('weights', `${ANIME}.pth`)));
  });

  it('follows a redirect, verifies, reports progress, and puts the file in the store', async () => {
    // GitHub answers release downloads with a redirect to its CDN.
    server.routes.set(`/mirror/${ANIME}.pth`, redirectTo('/cdn/blob'));
    server.routes.set('/cdn/blob', serveBytes(weights));
    const progress: DownloadProgress[] = [];
    const result = await store().pull(ANIME, { onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ id: ANIME, sha256: ANIME_SHA, bytes: 2_504_012, downloaded: true, path: join(dir, `${ANIME}.pth`) });
    expect(sha256(await readFile(result.path))).toBe(ANIME_SHA);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toEqual({ id: ANIME, bytes: 2_504_012, total: 2_504_012 });
    expect(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1]!.bytes)).toBe(true);
    expect(await readdir(dir)).toEqual([`${ANIME}.pth`]);

    // Present and verified: no second download.
    const again = await store().pull(ANIME);
    expect(again.downloaded).toBe(false);
    expect(await store().resolve(ANIME)).toBe(result.path);
    expect(server.requests).toEqual([`/mirror/${ANIME}.pth`, '/cdn/blob']);
    expect(await store().verify(ANIME)).toEqual([{ id: ANIME, status: 'ok', path: result.path, expected: ANIME_SHA, actual: ANIME_SHA }]);
  });

  it('converts once and reuses the cached ONNX graph on the next load', async () => {
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(weights));
    const s = store();
    let builds = 0;
    const counting = { ...s, cachedOnnx: (key: string, build: () => Promise<Uint8Array>) => s.cachedOnnx(key, () => (builds++, build())) };
    const input = { data: new Float32Array(3 * 8 * 8).fill(0.5), dims: [1, 3, 8, 8] };

    const first = await loadCatalogModel(ANIME, { store: counting, threads: 1 });
    expect(first).toMatchObject({ id: ANIME, scale: 4, alignment: 1, receptiveRadius: 18 });
    const out1 = await first.run(input);
    await first.release();
    const cached = join(dir, 'onnx', `${ANIME_SHA}-c${CONVERTER_VERSION}.onnx`);
    const before = await stat(cached);

    const second = await loadCatalogModel(ANIME, { store: counting, threads: 1 });
    const out2 = await second.run(input);
    await second.release();
    const after = await stat(cached);
    expect(builds).toBe(1);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(out2.dims).toEqual([1, 3, 32, 32]);
    expect(out2.data).toEqual(out1.data);
    expect(server.requests).toHaveLength(1);
    expect((await readdir(join(dir, 'onnx'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses a download whose sha256 does not match, leaving nothing in the store', async () => {
    const other = weights.slice();
    other[1000] = other[1000]! ^ 0xff;
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(other));
    const error = await thrown(store().pull(ANIME));
    expect(error).toBeInstanceOf(ChecksumError);
    expect(error?.code).toBe('E_CHECKSUM');
    expect(error?.message).toContain(ANIME_SHA);
    expect(error?.message).toMatch(/^Refusing the download from http:.*Nothing was stored\.$/);
    expect(await readdir(dir)).toEqual([]);
    // Longer than the published size: stopped early, same outcome.
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(new Uint8Array(3_000_000)));
    expect(await thrown(store().pull(ANIME))).toBeInstanceOf(ChecksumError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves no partial file when the connection drops mid-body', async () => {
    server.routes.set(`/mirror/${ANIME}.pth`, serveTruncated(weights, 1_000_000));
    const error = await thrown(store().pull(ANIME));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error?.code).toBe('E_DOWNLOAD');
    expect(error?.message).toContain(`${base()}/${ANIME}.pth`);
    expect(await readdir(dir)).toEqual([]);
    // The next pull starts clean and succeeds.
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(weights));
    expect((await store().pull(ANIME)).sha256).toBe(ANIME_SHA);
  });

  it('refuses to use a file already there whose sha256 does not match', async () => {
    const path = join(dir, `${ANIME}.pth`);
    await writeFile(path, weights.subarray(0, 1000));
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(weights));
    for (const attempt of [() => store().resolve(ANIME), () => store().load(ANIME), () => loadCatalogModel(ANIME, { store: store() })]) {
      const error = await thrown(attempt());
      expect(error).toBeInstanceOf(ChecksumError);
      expect(error?.message).toMatch(/Refusing .*realesr-animevideov3\.pth/);
    }
    expect(server.requests).toEqual([]);
    expect((await store().verify(ANIME))[0]).toMatchObject({ status: 'mismatch', expected: ANIME_SHA });
    // An explicit pull replaces it.
    expect(await store().pull(ANIME)).toMatchObject({ downloaded: true, sha256: ANIME_SHA });
    expect((await store().verify(ANIME))[0]!.status).toBe('ok');
  });

  it('stops on abort and removes the temp file', async () => {
    const controller = new AbortController();
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(weights, { chunk: 4096, beforeBody: () => new Promise((r) => setTimeout(r, 50)) }));
    const pulling = store().pull(ANIME, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 100_000) controller.abort(new Error('user cancelled'));
      },
    });
    const error = await thrown(pulling);
    expect(error).toBeInstanceOf(AbortedError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('lets two processes pull the same model at once: both succeed, one valid file, no leftovers', async () => {
    const entry = join(repoRoot, 'packages/models/dist/node/index.js');
    expect(existsSync(entry), `${entry} is missing: run pnpm build first`).toBe(true);
    // Both responses are held until both requests arrived, so the downloads really overlap.
    server.routes.set(`/mirror/${ANIME}.pth`, serveBytes(weights, { chunk: 16 * 1024, beforeBody: barrier(2) }));
    const script = join(dir, '..', `pull-${process.pid}-${Date.now()}.mjs`);
    await writeFile(
      script,
      `const { createModelStore } = await import(process.argv[2]);
       const store = createModelStore({ dir: process.argv[3], baseUrl: process.argv[4] });
       const result = await store.pull('${ANIME}');
       process.stdout.write(JSON.stringify(result));`,
    );
    try {
      const args = [script, pathToFileURL(entry).href, dir, base()];
      const results = await Promise.all([run(process.execPath, args), run(process.execPath, args)]);
      for (const { stdout } of results) expect(JSON.parse(stdout)).toMatchObject({ sha256: ANIME_SHA, downloaded: true });
    } finally {
      await rm(script, { force: true });
    }
    expect(server.requests).toEqual([`/mirror/${ANIME}.pth`, `/mirror/${ANIME}.pth`]);
    expect(await readdir(dir)).toEqual([`${ANIME}.pth`]);
    expect(sha256(await readFile(join(dir, `${ANIME}.pth`)))).toBe(ANIME_SHA);
  });
});

describe('download errors', () => {
  it('names the URL and the status of a 404', async () => {
    const error = await thrown(store().pull(ANIME));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error?.message).toBe(
      `Download of ${base()}/${ANIME}.pth failed: the server answered HTTP 404 Not Found. ` +
        `Model "${ANIME}" is looked for at ${join(dir, `${ANIME}.pth`)}: copy ${ANIME}.pth there, ` +
        `or set SUPERRES_MODELS_BASE_URL to a mirror that serves ${ANIME}.pth, ` +
        `or run "superres models pull ${ANIME}" on a machine with internet access and copy the models directory`,
    );
    expect((error as { details?: unknown } | undefined)?.details).toMatchObject({ id: ANIME, url: `${base()}/${ANIME}.pth`, reason: `Download of ${base()}/${ANIME}.pth failed: the server answered HTTP 404 Not Found` });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses URLs that are not http(s)', async () => {
    for (const s of [store({ baseUrl: 'file:///etc' }), store({ urlFor: () => 'ftp://example.com/x.pth' })]) {
      const error = await thrown(s.pull(ANIME));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error?.message).toMatch(/must be http or https/);
    }
  });

  it('reads SUPERRES_MODELS_BASE_URL, and times out a server that does not answer', async () => {
    server.routes.set(`/slow/${ANIME}.pth`, hang);
    const s = createModelStore({ dir, env: { SUPERRES_MODELS_BASE_URL: `${server.origin}/slow/` }, timeoutMs: 200 });
    const error = await thrown(s.pull(ANIME));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error?.message).toMatch(new RegExp(`${server.origin}/slow/${ANIME}\\.pth timed out`));
    expect(await readdir(dir)).toEqual([]);
  });

  it('says which ids exist when one does not', async () => {
    const error = await thrown(store().pull('no-such-model'));
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error?.message).toMatch(/known: RealESRGAN_x4plus, .*realesr-general-wdn-x4v3/);
    expect(await thrown(store().pull('../etc/passwd'))).toBeInstanceOf(InvalidOptionError);
  });
});

describe('trust on first use (no published sha256)', () => {
  const ID = 'RealESRNet_x4plus';
  it('records the first download and holds later ones to it', async () => {
    const first = stateDictToPth(tinySrvgg(4, 1));
    server.routes.set(`/mirror/${ID}.pth`, serveBytes(first));
    const result = await store().pull(ID);
    expect(result.sha256).toBe(sha256(first));
    expect(await readFile(join(dir, `${ID}.sha256`), 'utf8')).toBe(`${sha256(first)}  ${ID}.pth\n`);
    expect((await store().verify(ID))[0]!.status).toBe('ok');

    // The server now hands out other bytes: refused against the record.
    await rm(result.path);
    server.routes.set(`/mirror/${ID}.pth`, serveBytes(stateDictToPth(tinySrvgg(4, 2))));
    expect(await thrown(store().pull(ID))).toBeInstanceOf(ChecksumError);
    expect((await readdir(dir)).sort()).toEqual([`${ID}.sha256`]);

    // remove forgets the record too.
    expect(await store().remove(ID)).toEqual([join(dir, `${ID}.sha256`)]);
    expect((await store().pull(ID)).downloaded).toBe(true);
  });
});

describe('imported models, list, verify, remove', () => {
  it('imports a checkpoint and an ONNX file under custom ids and loads them', async () => {
    const pth = join(dir, '..', `tiny-${process.pid}.pth`);
    const onnx = join(dir, '..', `tiny-${process.pid}.onnx`);
    await writeFile(pth, stateDictToPth(tinySrvgg(2, 3)));
    await writeFile(onnx, buildSrvggOnnx(tinySrvgg(4, 4)).onnx);
    const s = store();
    try {
      const record = await s.import(pth, { id: 'my-tiny' });
      expect(record).toMatchObject({ id: 'my-tiny', format: 'pytorch-zip', architecture: 'SRVGGNetCompact', scale: 2, file: 'my-tiny.pth' });
      expect(record.sha256).toBe(sha256(await readFile(pth)));
      expect(await s.import(onnx, { id: 'my-onnx' })).toMatchObject({ format: 'onnx', architecture: 'onnx', scale: 4 });
    } finally {
      await rm(pth, { force: true });
      await rm(onnx, { force: true });
    }
    expect(await thrown(s.import(join(dir, 'my-tiny.pth'), { id: ANIME }))).toBeInstanceOf(DuplicateModelError);
    expect(await thrown(s.import(join(dir, 'my-tiny.pth'), { id: 'my-tiny' }))).toBeInstanceOf(DuplicateModelError);
    expect(await s.has('my-tiny')).toBe(true);

    const list = await s.list();
    expect(list.map((e) => e.id)).toEqual([...catalogModels().map((m) => m.id), 'my-onnx', 'my-tiny']);
    expect(list.find((e) => e.id === 'my-tiny')).toMatchObject({ source: 'imported', installed: true, scale: 2, architecture: 'SRVGGNetCompact' });
    expect(list.find((e) => e.id === ANIME)).toMatchObject({ source: 'catalog', installed: false, size: 2_504_012, isDefault: false });
    expect(list.find((e) => e.id === 'realesr-general-x4v3')).toMatchObject({ isDefault: true, architecture: 'SRVGGNetCompact' });

    for (const id of ['my-tiny', 'my-onnx']) {
      const model = await loadCatalogModel(id, { store: s, threads: 1 });
      const out = await model.run({ data: new Float32Array(3 * 4 * 4), dims: [1, 3, 4, 4] });
      expect(out.dims).toEqual([1, 3, 4 * model.scale, 4 * model.scale]);
      await model.release();
    }
    const statuses = Object.fromEntries((await s.verify()).map((r) => [r.id, r.status]));
    expect(statuses).toMatchObject({ 'my-tiny': 'ok', 'my-onnx': 'ok', [ANIME]: 'missing', RealESRNet_x4plus: 'missing' });

    // A changed imported file is refused.
    await writeFile(join(dir, 'my-tiny.pth'), 'tampered');
    expect(await thrown(s.load('my-tiny'))).toBeInstanceOf(ChecksumError);
    expect((await s.verify('my-tiny'))[0]!.status).toBe('mismatch');

    const removed = await s.remove('my-tiny');
    expect(removed).toEqual(expect.arrayContaining([join(dir, 'my-tiny.pth'), join(dir, 'my-tiny.json')]));
    expect(await s.has('my-tiny')).toBe(false);
    expect(await thrown(s.remove('my-tiny'))).toBeInstanceOf(ModelNotFoundError);
  });
});

describe('denoise through the store', () => {
  // A registry whose realesr-general-x4v3 pair are tiny synthetic checkpoints served locally.
  const a = tinySrvgg(4, 11);
  const b = tinySrvgg(4, 12);
  const bytesA = stateDictToPth(a);
  const bytesB = stateDictToPth(b);
  const plugin = (id: string, bytes: Uint8Array): ModelPlugin => ({
    id,
    kind: 'upscaler',
    scale: 4,
    alignment: 1,
    receptiveRadius: 3,
    weights: { url: `https://example.invalid/${id}.pth`, sha256: sha256(bytes), bytes: bytes.length },
    toOnnx: async (w) => buildGraphFromStateDict(readCheckpoint(w).stateDict).onnx,
  });

  it('blends realesr-general-wdn-x4v3 in, caches per denoise value, and refuses denoise elsewhere', async () => {
    server.routes.set('/mirror/realesr-general-x4v3.pth', serveBytes(bytesA));
    server.routes.set('/mirror/realesr-general-wdn-x4v3.pth', serveBytes(bytesB));
    const registry = createRegistry([plugin('realesr-general-x4v3', bytesA), plugin('realesr-general-wdn-x4v3', bytesB), plugin('other', bytesA)]);
    const s = store({ registry });
    const input = { data: new Float32Array(3 * 6 * 6).map((_, i) => (i % 7) / 7), dims: [1, 3, 6, 6] };
    const outputOf = async (denoise: number | undefined) => {
      const model = await loadCatalogModel('realesr-general-x4v3', { store: s, denoise, threads: 1 });
      try {
        return (await model.run(input)).data;
      } finally {
        await model.release();
      }
    };
    const half = await outputOf(0.5);
    const one = await outputOf(1);
    expect(await outputOf(undefined)).toEqual(one);
    expect(half).not.toEqual(one);
    const names = (await readdir(join(dir, 'onnx'))).sort();
    expect(names).toEqual(
      [`${sha256(bytesA)}-c${CONVERTER_VERSION}-dn0.5-${sha256(bytesB)}.onnx`, `${sha256(bytesA)}-c${CONVERTER_VERSION}.onnx`].sort(),
    );
    // The 0.5 graph is the interpolated state dict's.
    const cachedHalf = await readFile(join(dir, 'onnx', names.find((n) => n.includes('-dn0.5-'))!));
    expect(new Uint8Array(cachedHalf)).toEqual(buildGraphFromStateDict(interpolateStateDicts(a, b, 0.5)).onnx);

    for (const [id, denoise] of [['other', 0.5], ['realesr-general-x4v3', 1.5]] as const) {
      const error = await thrown(loadCatalogModel(id, { store: s, denoise }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error?.message).toMatch(/denoise/);
    }
    // Removing the wdn weights drops the blended graphs built from them.
    await s.remove('realesr-general-wdn-x4v3');
    expect(await readdir(join(dir, 'onnx'))).toEqual([`${sha256(bytesA)}-c${CONVERTER_VERSION}.onnx`]);
  });
});
