/**
 * What `superres upscale` is given to read: files, directories (their images; with `-r`, those of
 * every subdirectory) and glob patterns (quoted, so the shell leaves them to us: `*`, `?`, `**`,
 * `{a,b}`, `[...]`). Each input keeps its path relative to what named it, so an output directory
 * mirrors the input tree.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { CliError } from '../cli-error.js';

export interface InputFile {
  /** The file to read. */
  path: string;
  /** Its path below the directory or pattern that named it (the file name for a plain file). */
  relative: string;
}

/** Extensions taken from directories and patterns (a file named outright is always tried). */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'jpe', 'webp', 'avif', 'tif', 'tiff', 'gif', 'bmp', 'heic', 'heif'];

const isImageName = (name: string) => IMAGE_EXTENSIONS.includes(name.slice(name.lastIndexOf('.') + 1).toLowerCase());
const GLOB = /[*?[{]/;

async function kindOf(path: string): Promise<'file' | 'dir' | undefined> {
  const s = await stat(path).catch(() => undefined);
  return s?.isFile() ? 'file' : s?.isDirectory() ? 'dir' : undefined;
}

async function filesBelow(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive });
  return entries
    .filter((e) => e.isFile() && isImageName(e.name) && !e.name.startsWith('.'))
    .map((e) => join((e as { parentPath?: string; path?: string }).parentPath ?? (e as { path: string }).path, e.name))
    .sort();
}

/** A glob pattern as a regular expression over '/'-separated relative paths. */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // '**/' matches any number of directories, a final '**' anything.
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) out += '\\{';
      else {
        out += `(?:${pattern.slice(i + 1, end).split(',').map((a) => a.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')).join('|')})`;
        i = end;
      }
    } else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) out += '\\[';
      else {
        out += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

async function expandGlob(pattern: string): Promise<InputFile[]> {
  const parts = pattern.split(/[\\/]/);
  const firstGlob = parts.findIndex((p) => GLOB.test(p));
  const base = parts.slice(0, firstGlob).join(sep) || '.';
  const rest = parts.slice(firstGlob).join('/');
  if ((await kindOf(base)) !== 'dir') return [];
  const matcher = globToRegExp(rest);
  const deep = rest.includes('**') || rest.includes('/');
  const files = await filesBelow(base, deep);
  return files
    .map((path) => ({ path, relative: relative(base, path) }))
    .filter((f) => matcher.test(f.relative.split(sep).join('/')));
}

export async function expandInputs(args: readonly string[], options: { recursive: boolean }): Promise<InputFile[]> {
  const found: InputFile[] = [];
  const missing: string[] = [];
  for (const arg of args) {
    const kind = await kindOf(arg);
    if (kind === 'file') found.push({ path: arg, relative: basename(arg) });
    else if (kind === 'dir') {
      const files = await filesBelow(arg, options.recursive);
      if (files.length === 0) missing.push(`${arg} (a directory with no images${options.recursive ? '' : '; -r looks into subdirectories'})`);
      found.push(...files.map((path) => ({ path, relative: relative(arg, path) })));
    } else if (GLOB.test(arg)) {
      const files = await expandGlob(arg);
      if (files.length === 0) missing.push(`${arg} (no file matches)`);
      found.push(...files);
    } else missing.push(`${arg} (no such file or directory)`);
  }
  if (missing.length > 0) throw new CliError('E_INPUT_NOT_FOUND', `Input not found: ${missing.join(', ')}`);
  // The same file named twice (a file and its directory) is upscaled once.
  const seen = new Set<string>();
  return found.filter((f) => {
    const key = resolve(f.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

