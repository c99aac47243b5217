// What every published package carries: the supported Node range, the licence file, keywords,
// and source maps that resolve on a user's machine (sources embedded: src/ is not published).
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
  it.skipIf(dist.length === 0)(`source maps carry their sources; no declaration maps into unpublished src/${dist.length === 0 ? ' (skipped: not built)' : ''}`, () => {
    const maps = dist.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
      expect(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), file).toBe(true);
    }
    expect(dist.filter((f) => f.endsWith('.d.ts.map'))).toEqual([]);
  });
});
