#!/usr/bin/env node
/**
 * Releases with changesets.
 *
 *   node scripts/release.mjs version   changeset version: bump versions, write CHANGELOG.md files
 *   node scripts/release.mjs publish   build, then changeset publish (pnpm publish of every version
 *                                      not on the registry yet, git tags); provenance when the CI
 *                                      provides an OIDC token (GitHub Actions: id-token: write)
 *   node scripts/release.mjs dry-run   both steps on a copy of the working tree, without the upload:
 *                                      versions bumped as the changesets say, changelogs written,
 *                                      tarballs packed and checked. Prints a JSON report; exit 1 on
 *                                      a problem. Needs the packages built (`pnpm build`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const changesetBin = join(root, 'node_modules', '@changesets', 'cli', 'bin.js');
const PNPM = ['-y', 'pnpm@10.34.8'];
const BUMPS = ['patch', 'minor', 'major'];

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', stdio: options.capture ? 'pipe' : 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})${options.capture ? `:\n${result.stdout}${result.stderr}` : ''}`);
  }
  return result.stdout ?? '';
}

/** pnpm: the one running this script (`pnpm release:...`), else the version the repo pins. */
function pnpm(args, options) {
  const execPath = process.env.npm_execpath;
  return execPath && /pnpm(\.c?js)?$/.test(execPath) ? run(process.execPath, [execPath, ...args], options) : run('npx', [...PNPM, ...args], options);
}

/** The workspace's publishable packages: directory, name, version, manifest. */
function publicPackages(dir) {
  return readdirSync(join(dir, 'packages'))
    .map((name) => join(dir, 'packages', name))
    .filter((path) => existsSync(join(path, 'package.json')))
    .map((path) => ({ path, manifest: JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) }))
    .filter(({ manifest }) => !manifest.private);
}

/** Each pending changeset's releases (`'@superres/x': minor`) and first summary line. */
function pendingChangesets(dir) {
  const folder = join(dir, '.changeset');
  return readdirSync(folder)
    .filter((file) => file.endsWith('.md') && file !== 'README.md')
    .map((file) => {
      const text = readFileSync(join(folder, file), 'utf8');
      const [, front = '', body = ''] = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text) ?? [];
      const releases = [...front.matchAll(/^['"]?([^'":]+)['"]?:\s*(patch|minor|major)\s*$/gm)].map((m) => ({ name: m[1], type: m[2] }));
      return { file, releases, summary: body.trim().split('\n')[0] };
    });
}

/** The smallest version a bump of `type` gives (0.x: changesets bumps as semver says). */
function bumped(version, type) {
  const [major, minor, patch] = version.split('.').map(Number);
  if (type === 'major') return `${major + 1}.0.0`;
  if (type === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

const compare = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** Tracked and untracked (not ignored) files: what a clean clone of this tree would hold. */
function copyWorkingTree(to) {
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { capture: true }).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(join(root, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
}

function dryRun() {
  const problems = [];
  const before = publicPackages(root);
  for (const { path, manifest } of before) {
    if (!existsSync(join(path, 'dist'))) throw new Error(`${manifest.name} is not built: run \`pnpm build\` first`);
  }
  const work = mkdtempSync(join(tmpdir(), 'superres-release-'));
  try {
    copyWorkingTree(work);
    // Built outputs come from this checkout (the copy only has sources); dependencies from the
    // store this checkout installed (offline, no scripts: nothing is built or downloaded).
    for (const { path } of before) cpSync(join(path, 'dist'), join(work, 'packages', path.split('/').pop(), 'dist'), { recursive: true });
    pnpm(['install', '--offline', '--frozen-lockfile', '--ignore-scripts', '--reporter=silent'], { cwd: work, capture: true });

    const changesets = pendingChangesets(work);
    const wanted = new Map();
    for (const { releases } of changesets) {
      for (const { name, type } of releases) {
        if (BUMPS.indexOf(type) > BUMPS.indexOf(wanted.get(name) ?? 'none')) wanted.set(name, type);
      }
    }

    run(process.execPath, [changesetBin, 'version'], { cwd: work, capture: true });

    const after = new Map(publicPackages(work).map((p) => [p.manifest.name, p]));
    const releases = [];
    for (const { manifest } of before) {
      const next = after.get(manifest.name);
      const from = manifest.version;
      const to = next.manifest.version;
      const type = wanted.get(manifest.name);
      if (type && compare(to, bumped(from, type)) < 0) problems.push(`${manifest.name}: ${from} -> ${to}, a ${type} changeset asks for at least ${bumped(from, type)}`);
      if (to === from) continue;
      const changelog = join(next.path, 'CHANGELOG.md');
      const text = existsSync(changelog) ? readFileSync(changelog, 'utf8') : '';
      if (!text.includes(`## ${to}`)) problems.push(`${manifest.name}: CHANGELOG.md has no "## ${to}" section`);
      for (const { file, releases: named, summary } of changesets) {
        if (named.some((r) => r.name === manifest.name) && !text.includes(summary)) problems.push(`${manifest.name}: CHANGELOG.md lacks ${file}`);
      }
      releases.push({ name: manifest.name, from, to, tarball: undefined });
    }
    const left = pendingChangesets(work);
    if (left.length > 0) problems.push(`changesets not consumed: ${left.map((c) => c.file).join(', ')}`);

    // Pack what `publish` would upload, and read each tarball's own manifest.
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    const versions = new Map([...after].map(([name, p]) => [name, p.manifest.version]));
    for (const release of releases) {
      const { path } = after.get(release.name);
      const packed = pnpm(['pack', '--pack-destination', tarballs], { cwd: path, capture: true }).trim().split('\n').pop().trim();
      const tarball = packed.startsWith('/') ? packed : join(tarballs, packed.split('/').pop());
      release.tarball = tarball.split('/').pop();
      const listing = run('tar', ['-tzf', tarball], { capture: true }).split('\n');
      for (const file of ['package/package.json', 'package/README.md', 'package/LICENSE', 'package/CHANGELOG.md']) {
        if (!listing.includes(file)) problems.push(`${release.name}: ${file} missing from the tarball`);
      }
      const shipped = JSON.parse(run('tar', ['-xOzf', tarball, 'package/package.json'], { capture: true }));
      if (shipped.version !== release.to) problems.push(`${release.name}: the tarball says ${shipped.version}, expected ${release.to}`);
      for (const [dep, range] of Object.entries({ ...shipped.dependencies, ...shipped.peerDependencies })) {
        if (String(range).startsWith('workspace:')) problems.push(`${release.name}: ${dep} still "${range}" in the tarball`);
        else if (versions.has(dep) && range !== versions.get(dep)) problems.push(`${release.name}: depends on ${dep}@${range}, the release has ${versions.get(dep)}`);
      }
    }
    return { changesets: changesets.length, releases, problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function publish() {
  pnpm(['run', 'build']);
  // npm records provenance only where the CI hands out an OIDC token (GitHub Actions with
  // `permissions: id-token: write`, GitLab); elsewhere asking for it fails the publish.
  const provenance = Boolean(process.env.ACTIONS_ID_TOKEN_REQUEST_URL || process.env.NPM_ID_TOKEN);
  console.log(`publishing ${provenance ? 'with' : 'without'} provenance`);
  run(process.execPath, [changesetBin, 'publish'], { env: { ...process.env, ...(provenance ? { NPM_CONFIG_PROVENANCE: 'true' } : {}) } });
}

const command = process.argv[2];
try {
  if (command === 'version') run(process.execPath, [changesetBin, 'version']);
  else if (command === 'publish') publish();
  else if (command === 'dry-run') {
    const report = dryRun();
    console.log(JSON.stringify(report, null, 2));
    if (report.problems.length > 0) process.exitCode = 1;
  } else {
    console.error('usage: node scripts/release.mjs version|publish|dry-run');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
