// Each package as npm users get it: the tarball `pnpm pack` makes (as `pnpm publish` would:
// publishConfig applied, workspace: ranges replaced), checked by publint --strict (package.json,
// exports, files) and Are The Types Wrong with the ESM-only profile (types resolve as the code
// does under node16 and bundler resolution). The packages must be built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../test-support/fixtures.js';
import { pnpmCommand } from '../test-support/pnpm-command.js';

const packagesDir = join(repoRoot, 'packages');
const names = readdirSync(packagesDir).filter((n) => existsSync(join(packagesDir, n, 'package.json')));
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
const built = names.every((n) => existsSync(join(packagesDir, n, 'dist')));

function run(command: string, args: string[], cwd = repoRoot): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }, timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!built)(`package lint${built ? '' : ' (skipped: packages not built; run pnpm build)'}`, () => {
  let out: string;
  const tarballs = new Map<string, string>();

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'superres-pack-'));
    const pnpm = pnpmCommand();
    for (const name of names) {
      const packed = run(pnpm.command, [...pnpm.args, 'pack', '--pack-destination', out], join(packagesDir, name));
      expect(packed.status, packed.output).toBe(0);
    }
    for (const file of readdirSync(out)) tarballs.set(file.replace(/^superres-(.+)-\d+\.\d+\.\d+.*\.tgz$/, '$1'), join(out, file));
    expect([...tarballs.keys()].sort()).toEqual([...names].sort());
  }, 300_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each(names)('@superres/%s: publint --strict finds nothing', (name) => {
    const { status, output } = run(bin('publint'), [tarballs.get(name)!, '--strict']);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('All good!') });
  }, 120_000);

  it.each(names)('@superres/%s: attw --profile esm-only finds no problem', (name) => {
    const { status, output } = run(bin('attw'), [tarballs.get(name)!, '--profile', 'esm-only', '--format', 'json']);
    const report = JSON.parse(output.slice(output.indexOf('{'))) as { analysis: { problems: { kind: string; resolutionKind?: string }[] } };
    // esm-only: CommonJS resolution (node10, node16 from CJS) is out of scope; everything else counts.
    const problems = report.analysis.problems.filter((p) => p.resolutionKind !== 'node10' && p.resolutionKind !== 'node16-cjs');
    expect(problems).toEqual([]);
    expect(status).toBe(0);
  }, 120_000);
});
