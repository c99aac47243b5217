// Where the shared real-world fixtures (official weights, real images) live for tests:
// SUPERRES_FIXTURES, default ../shared/fixtures beside the checkout. Never copied into the repo.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const fixturesDir = resolve(repoRoot, process.env.SUPERRES_FIXTURES ?? '../shared/fixtures');

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

/** A describe/it title that carries the skip reason when the fixture is missing. */
export function needsFixture(title: string, ...parts: string[]): { title: string; missing: boolean } {
  const path = fixture(...parts);
  const missing = !existsSync(path);
  return { title: missing ? `${title} (skipped: fixture ${path} not found; set SUPERRES_FIXTURES)` : title, missing };
}
