import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelImportPath } from './model-import-path.js';

describe('resolveModelImportPath', () => {
  let dir: string;
  let allowed: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-import-'));
    allowed = join(dir, 'allowed');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await writeFile(join(allowed, 'model.pth'), Buffer.alloc(100));
    await writeFile(join(dir, 'outside.pth'), Buffer.alloc(10));
    await symlink('/dev/zero', join(allowed, 'zero.pth'));
    await symlink(join(dir, 'outside.pth'), join(allowed, 'escape.pth'));
    await symlink(join(allowed, 'model.pth'), join(dir, 'link-in.pth'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const resolveIn = (path: string, maxBytes = 1000) => resolveModelImportPath(path, [allowed], maxBytes);

  it('accepts a regular file under an import directory, symbolic links resolved', async () => {
    await expect(resolveIn(join(allowed, 'model.pth'))).resolves.toBe(join(allowed, 'model.pth'));
    await expect(resolveIn(join(dir, 'link-in.pth'))).resolves.toBe(join(allowed, 'model.pth'));
    await expect(resolveIn(join(allowed, 'sub', '..', 'model.pth'))).resolves.toBe(join(allowed, 'model.pth'));
  });

  it('refuses everything else with a typed error', async () => {
    await expect(resolveModelImportPath(join(allowed, 'model.pth'), [], 1000)).rejects.toMatchObject({ code: 'E_FORBIDDEN', message: /SUPERRES_MODEL_IMPORT_DIRS/ });
    await expect(resolveIn('/dev/zero')).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(resolveIn(join(allowed, 'zero.pth'))).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(resolveIn(join(allowed, 'escape.pth'))).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(resolveIn(join(allowed, '..', 'outside.pth'))).rejects.toMatchObject({ code: 'E_FORBIDDEN' });
    await expect(resolveIn(`${allowed}-twin/model.pth`)).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(resolveIn(join(allowed, 'missing.pth'))).rejects.toMatchObject({ code: 'E_NOT_FOUND', message: 'path: no such file' });
    await expect(resolveIn(join(allowed, 'sub'))).rejects.toMatchObject({ code: 'E_INVALID_REQUEST', message: 'path: not a regular file' });
    await expect(resolveIn('model.pth')).rejects.toMatchObject({ code: 'E_INVALID_REQUEST' });
    await expect(resolveIn(join(allowed, 'model.pth'), 99)).rejects.toMatchObject({ code: 'E_TOO_LARGE', message: /100 bytes/ });
  });
});
