/**
 * Installing single packages, as users do: `pnpm pack` @superres/core and @superres/models (from
 * their built dist/: the test command builds first), `npm install` the two tarballs into a fresh
 * project outside the workspace, and run a user's ESM script there that registers a model plugin
 * of its own and upscales an image with onnxruntime-node.
 *
 * Needs the npm registry (zod, fflate, onnxruntime-node); onnxruntime-node's CUDA download is
 * skipped, so nothing else is fetched.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const ORT_NODE_VERSION = '1.30.0';
const SETUP_TIMEOUT_MS = 600_000;

interface PackageJson {
  name: string;
  version: string;
  exports?: Record<string, Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Packed {
  dir: string;
  manifest: PackageJson;
  tarball: string;
  entries: string[];
  packedManifest: PackageJson;
  packedManifestText: string;
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), maxBuffer: 64 * 1024 * 1024, timeout: SETUP_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

/** The environment without the npm_* variables of the pnpm/npm that started the tests. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** The pnpm running the tests where there is one, else the workspace's pinned pnpm through npx. */
function pnpmCommand(): [string, string[]] {
  const execpath = process.env.npm_execpath;
  if (execpath && /pnpm/i.test(execpath.split(/[\\/]/).pop() ?? '')) {
    return /\.[cm]?js$/.test(execpath) ? [process.execPath, [execpath]] : [execpath, []];
  }
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { packageManager?: string };
  const pinned = /^pnpm@\d+\.\d+\.\d+/.exec(root.packageManager ?? '')?.[0] ?? 'pnpm@10.34.8';
  return ['npx', ['-y', pinned]];
}

async function pack(packageDir: string, destination: string): Promise<Packed> {
  const dir = join(repoRoot, packageDir);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  for (const target of exportTargets(manifest)) {
    if (!existsSync(join(dir, target))) {
      throw new Error(`${manifest.name} is not built (${target} is missing): run \`pnpm build\` first`);
    }
  }
  const before = new Set(readdirSync(destination));
  const [command, prefix] = pnpmCommand();
  await run(command, [...prefix, 'pack', '--pack-destination', destination], { cwd: dir });
  const created = readdirSync(destination).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (created.length !== 1) throw new Error(`pnpm pack in ${packageDir} made ${created.length} tarballs: ${created.join(', ')}`);
  const tarball = join(destination, created[0]!);
  const entries = (await run('tar', ['-tzf', tarball], { cwd: destination })).split('\n').filter(Boolean);
  const packedManifestText = await run('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: destination });
  return { dir, manifest, tarball, entries, packedManifest: JSON.parse(packedManifestText) as PackageJson, packedManifestText };
}

/** The files the `types` and `default` conditions of the exports map point to (./dist/...). */
function exportTargets(manifest: PackageJson): string[] {
  return Object.values(manifest.exports ?? {}).flatMap((conditions) =>
    ['types', 'default'].map((c) => conditions[c]).filter((t): t is string => t !== undefined),
  );
}

/** The user's script: plain ESM against the installed packages, no workspace, no TypeScript. */
const USER_SCRIPT = String.raw`
import { readFile } from 'node:fs/promises';
import { createImage, createRegistry, loadModel, upscale } from '@superres/core';
import { buildSrvggOnnx, pluginFromCheckpoint } from '@superres/models';
import { createNodeBackend } from '@superres/models/node';
import { createWebBackend } from '@superres/models/web';

// A tiny SRVGGNetCompact x2 with random weights: conv, PReLU, conv, PReLU, conv(3 * 2^2).
let state = 12345;
const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.4;
const tensor = (shape) => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand),
});
const stateDict = new Map([
  ['body.0.weight', tensor([4, 3, 3, 3])],
  ['body.0.bias', tensor([4])],
  ['body.1.weight', tensor([4])],
  ['body.2.weight', tensor([4, 4, 3, 3])],
  ['body.2.bias', tensor([4])],
  ['body.3.weight', tensor([4])],
  ['body.4.weight', tensor([12, 4, 3, 3])],
  ['body.4.bias', tensor([12])],
]);
const built = buildSrvggOnnx(stateDict);

// My own model, as a plugin in my own registry.
const registry = createRegistry();
registry.register({
  id: 'my-tiny-x2',
  kind: 'upscaler',
  description: 'a random SRVGGNetCompact x2 built by this script',
  ...built.geometry,
  toOnnx: async () => built.onnx,
});

const image = createImage(10, 7, 3, 8);
for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 37) % 256;

const backend = createNodeBackend({ threads: 1 });
const model = await loadModel(registry.get('my-tiny-x2'), new Uint8Array(0), backend);
const out = await upscale(image, model, { tile: 4, tilePad: model.receptiveRadius });
console.log(JSON.stringify({ model: model.id, scale: model.scale, width: out.width, height: out.height, channels: out.channels, bytes: out.data.length }));
await model.release();

// An official checkpoint from disk, when the test hands one over.
if (process.argv[2]) {
  const weights = new Uint8Array(await readFile(process.argv[2]));
  registry.register(pluginFromCheckpoint('anime-x4', weights));
  const anime = await loadModel(registry.get('anime-x4'), weights, backend);
  const x4 = await upscale(image, anime);
  console.log(JSON.stringify({ model: anime.id, scale: anime.scale, width: x4.width, height: x4.height }));
  await anime.release();
}

// The browser entry imports in Node too, and says what is missing: onnxruntime-web is not installed here.
const error = await createWebBackend().createSession(built.onnx).catch((e) => e);
console.log(JSON.stringify({ web: error?.code ?? 'no error', message: String(error?.message) }));
`;

describe('installing single packages, as users do', () => {
  let workDir = '';
  let project = '';
  let core: Packed;
  let models: Packed;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'superres-pack-install-'));
    const tarballs = join(workDir, 'tarballs');
    project = join(workDir, 'project');
    await mkdir(tarballs);
    await mkdir(project);
    core = await pack('packages/core', tarballs);
    models = await pack('packages/models', tarballs);

    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'superres-user', version: '1.0.0', private: true, type: 'module' }, null, 2),
    );
    // onnxruntime-node's postinstall would download its CUDA provider from NuGet: skipped, with its
    // npm flag (npm passes it to the script as npm_config_onnxruntime_node_install) and, for npm
    // versions that drop unknown flags, its environment variable.
    await run(
      'npm',
      [
        'install',
        core.tarball,
        models.tarball,
        `onnxruntime-node@${ORT_NODE_VERSION}`,
        '--onnxruntime-node-install=skip',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ],
      { cwd: project, env: cleanEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }) },
    );
    await writeFile(join(project, 'upscale.mjs'), USER_SCRIPT);
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('packs dist/ and the README, never sources or tests', () => {
    for (const packed of [core, models]) {
      const files = packed.entries.map((e) => e.replace(/^package\//, ''));
      expect(packed.entries.every((e) => e.startsWith('package/'))).toBe(true);
      expect(files).toContain('README.md');
      expect(files).toContain('package.json');
      expect(files.some((f) => f.startsWith('dist/'))).toBe(true);
      for (const target of exportTargets(packed.manifest)) expect(files).toContain(target.replace(/^\.\//, ''));
      expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
      expect(files.filter((f) => /\.test\.[cm]?[jt]s$|(^|\/)test-support\//.test(f))).toEqual([]);
    }
    const modelFiles = models.entries.map((e) => e.replace(/^package\//, ''));
    for (const entry of ['dist/index.js', 'dist/node/index.js', 'dist/web/index.js', 'dist/web/index.d.ts']) {
      expect(modelFiles).toContain(entry);
    }
  });

  it('rewrites workspace:* to the real version in the packed package.json', () => {
    expect(models.packedManifestText).not.toMatch(/workspace:/);
    expect(core.packedManifestText).not.toMatch(/workspace:/);
    expect(models.manifest.dependencies?.['@superres/core']).toBe('workspace:*');
    expect(models.packedManifest.dependencies?.['@superres/core']).toBe(core.manifest.version);
    expect(models.packedManifest.version).toBe(models.manifest.version);
    // The "source" condition points into src/, which is not packed: publishConfig drops it.
    expect(models.packedManifestText).not.toMatch(/"source"/);
    expect(core.packedManifestText).not.toMatch(/"source"/);
    // The runtimes stay optional peers: a user installs the one they need.
    expect(Object.keys(models.packedManifest.peerDependencies ?? {}).sort()).toEqual(['onnxruntime-node', 'onnxruntime-web']);
  });

  it('installs without onnxruntime-node downloading its CUDA provider', () => {
    const bin = join(project, 'node_modules/onnxruntime-node/bin/napi-v6', process.platform, process.arch);
    expect(existsSync(bin)).toBe(true);
    expect(readdirSync(bin).filter((f) => /providers_cuda/.test(f))).toEqual([]);
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/@superres/models/package.json'), 'utf8')) as PackageJson;
    expect(installed.dependencies?.['@superres/core']).toBe(core.manifest.version);
    expect(existsSync(join(project, 'node_modules/onnxruntime-web'))).toBe(false);
  });

  const weights = needsFixture('also loads an official checkpoint with pluginFromCheckpoint', 'weights', 'realesr-animevideov3.pth');

  it(`runs a user's ESM script: a custom plugin in createRegistry(), loadModel, upscale (${weights.title})`, async () => {
    const args = ['upscale.mjs', ...(weights.missing ? [] : [fixture('weights', 'realesr-animevideov3.pth')])];
    const stdout = await run(process.execPath, args, { cwd: project });
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toEqual({ model: 'my-tiny-x2', scale: 2, width: 20, height: 14, channels: 3, bytes: 20 * 14 * 3 });
    if (!weights.missing) expect(lines[1]).toEqual({ model: 'anime-x4', scale: 4, width: 40, height: 28 });
    const web = lines[lines.length - 1]!;
    expect(web.web).toBe('E_BACKEND');
    expect(web.message).toMatch(/needs onnxruntime-web/);
    expect(lines).toHaveLength(weights.missing ? 2 : 3);
  });
});
