/**
 * Which server files `load_model { path }` may read: regular files under the configured
 * directories (SUPERRES_MODEL_IMPORT_DIRS, symbolic links resolved first), no larger than
 * SUPERRES_MAX_MODEL_BYTES. Without it an admin key could make the server read /dev/zero until
 * the kernel killed it, or probe any file on the host.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, sep } from 'node:path';
import { ServerError } from './errors.js';

export async function resolveModelImportPath(path: string, dirs: readonly string[], maxBytes: number): Promise<string> {
  if (dirs.length === 0) {
    throw new ServerError('E_FORBIDDEN', 'path: this server does not load models from its own files (set SUPERRES_MODEL_IMPORT_DIRS); send a url instead');
  }
  if (!isAbsolute(path)) throw new ServerError('E_INVALID_REQUEST', 'path: expected an absolute path on the server');
  const real = await realpath(path).catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ServerError('E_NOT_FOUND', 'path: no such file');
    throw new ServerError('E_FORBIDDEN', 'path: cannot be read by the server');
  });
  const roots = (await Promise.all(dirs.map((dir) => realpath(dir).catch(() => undefined)))).filter((d): d is string => d !== undefined);
  if (!roots.some((root) => real.startsWith(root.endsWith(sep) ? root : root + sep))) {
    throw new ServerError('E_FORBIDDEN', 'path: not under a directory this server loads models from (SUPERRES_MODEL_IMPORT_DIRS)');
  }
  const info = await stat(real);
  if (!info.isFile()) throw new ServerError('E_INVALID_REQUEST', 'path: not a regular file');
  if (info.size > maxBytes) {
    throw new ServerError('E_TOO_LARGE', `path: the file has ${info.size} bytes, more than SUPERRES_MAX_MODEL_BYTES (${maxBytes})`, { size: info.size, limit: maxBytes });
  }
  return real;
}
