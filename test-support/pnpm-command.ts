// How tests run pnpm: the pnpm that started them (`pnpm test` sets npm_execpath), else pnpm on
// PATH, else the version the repository pins through npx. (pnpm is not a devDependency: a pnpm
// in node_modules/.bin makes turbo spawn it by a relative path that fails in package folders.)
import { spawnSync } from 'node:child_process';

export function pnpmCommand(): { command: string; args: string[] } {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm(\.c?js)?$/.test(execPath)) return { command: process.execPath, args: [execPath] };
  if (spawnSync('pnpm', ['--version'], { encoding: 'utf8' }).status === 0) return { command: 'pnpm', args: [] };
  return { command: 'npx', args: ['-y', 'pnpm@10.34.8'] };
}
