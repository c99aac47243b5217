// Each package as npm users get it: publint --strict (package.json, exports, files), on the
// tarball `npm pack` makes; the packages must be built. (Are The Types Wrong 0.18.2 cannot read
// our tarballs: it keeps only the last chunk fflate's streaming gunzip emits, so any package
// over ~64 KB unpacked fails with "reading 'filename'"; run by hand, it found no problem.)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../test-support/fixtures.js';

const packagesDir = join(repoRoot, 'packages');
const names = readdirSync(packagesDir).filter((n) => existsSync(join(packagesDir, n, 'package.json')));
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
const built = names.every((n) => existsSync(join(packagesDir, n, 'dist')));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!built)(`package lint${built ? '' : ' (skipped: packages not built; run pnpm build)'}`, () => {
  it.each(names)('@superres/%s: publint --strict finds nothing', (name) => {
    const { status, output } = run(bin('publint'), [join('packages', name), '--strict', '--pack', 'npm']);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('All good!') });
  }, 120_000);
});
