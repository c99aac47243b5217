// What every published package carries: the supported Node range, the licence file, keywords,
// and no source maps (src/ is not published, so maps would point at nothing; maps with embedded
// sources doubled the tarballs and broke attw's reader).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../test-support/fixtures.js';

const packagesDir = join(repoRoot, 'packages');
const names = readdirSync(packagesDir).filter((n) => existsSync(join(packagesDir, n, 'package.json')));
const rootEngines = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const license = readFileSync(join(repoRoot, 'LICENSE'), 'utf8');

function filesBelow(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).map((f) => join(dir, f)) : [];
}

describe.each(names)('@superres/%s', (name) => {
  const dir = join(packagesDir, name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown> & { files?: string[] };

  it('declares the tested Node range, its licence and keywords, and ships LICENSE', () => {
    expect(manifest.engines).toEqual({ node: rootEngines });
    expect(manifest.license).toBe('BSD-3-Clause');
    expect((manifest.keywords as string[] | undefined)?.length).toBeGreaterThan(0);
    expect(manifest.files).toContain('LICENSE');
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(license);
  });

  const dist = filesBelow(join(dir, 'dist'));
  it.skipIf(dist.length === 0)(`ships no source or declaration maps${dist.length === 0 ? ' (skipped: not built)' : ''}`, () => {
    expect(dist.filter((f) => f.endsWith('.js'))).not.toEqual([]);
    expect(dist.filter((f) => f.endsWith('.map'))).toEqual([]);
  });
});
