import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidOptionError, isSuperresError } from '@superres/core';
import { createLocalStorage } from './local.js';
import { StorageError } from './errors.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'superres-local-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const KEY = '0123456789abcdef0123456789abcdef.png';
const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);

describe('createLocalStorage', () => {
  it('writes under dir, answers the public URL, resolves and clears', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://127.0.0.1:3000/outputs/' });
    expect(storage.kind).toBe('local');
    expect(storage.resolve(KEY)).toBeUndefined();

    const stored = await storage.put(KEY, bytes, 'image/png');
    expect(stored).toEqual({ key: KEY, url: `http://127.0.0.1:3000/outputs/${KEY}` });
    const file = storage.resolve(KEY);
    expect(file).toBe(path.join(dir, KEY));
    expect(path.isAbsolute(file!)).toBe(true);
    expect(new Uint8Array(await readFile(file!))).toEqual(bytes);
    expect(storage.contentTypeOf(KEY)).toBe('image/png');
    expect(storage.contentTypeOf('a.jpg')).toBe('image/jpeg');
    expect(storage.contentTypeOf('a.webp')).toBe('image/webp');
    expect(storage.contentTypeOf('a')).toBe('application/octet-stream');

    // Overwrite is atomic too.
    await storage.put(KEY, new Uint8Array([9]), 'image/png');
    expect(new Uint8Array(await readFile(file!))).toEqual(new Uint8Array([9]));

    await storage.put('ffffffffffffffffffffffffffffffff.webp', bytes, 'image/webp');
    // Something that is not ours stays.
    await writeFile(path.join(dir, 'README.txt~'), 'keep');
    expect(await storage.clear()).toBe(2);
    expect(await readdir(dir)).toEqual(['README.txt~']);
    expect(storage.resolve(KEY)).toBeUndefined();
    expect(await storage.clear()).toBe(0);
  });

  it('clear with olderThanMs deletes only the files written longer ago (SUPERRES_OUTPUT_TTL)', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://h/outputs' });
    const old = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png';
    await storage.put(old, bytes, 'image/png');
    await storage.put(KEY, bytes, 'image/png');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(path.join(dir, old), twoHoursAgo, twoHoursAgo);
    expect(await storage.clear({ olderThanMs: 3_600_000 })).toBe(1);
    expect(await readdir(dir)).toEqual([KEY]);
  });

  it('reads its own objects by their public URL, and nothing else', async () => {
    const storage = createLocalStorage({ dir: path.join(root, 'outputs'), publicBaseUrl: 'http://h:1/outputs/' });
    const { url } = await storage.put(KEY, bytes, 'image/png');
    expect(await storage.readOwn(url, 100)).toEqual(bytes);
    expect(await storage.readOwn(`${url}?x=1`, 100)).toBeUndefined();
    expect(await storage.readOwn('http://h:1/outputs/../api-key', 100)).toBeUndefined();
    expect(await storage.readOwn('http://other:1/outputs/' + KEY, 100)).toBeUndefined();
    expect(await storage.readOwn('http://h:1/outputs/ffffffffffffffffffffffffffffffff.png', 100)).toBeUndefined();
    await expect(storage.readOwn(url, 3)).rejects.toMatchObject({ code: 'E_IMAGE_TOO_LARGE' });
  });

  it('clear on a directory never written is 0', async () => {
    const storage = createLocalStorage({ dir: path.join(root, 'none'), publicBaseUrl: 'http://h/outputs' });
    expect(await storage.clear()).toBe(0);
  });

  it('leaves no temporary file behind, and removes stale ones on clear', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://h/outputs' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.put(`${i.toString(16).padStart(32, '0')}.png`, bytes, 'image/png')));
    const names = await readdir(dir);
    expect(names).toHaveLength(20);
    expect(names.every((n) => !n.startsWith('.'))).toBe(true);

    await writeFile(path.join(dir, '.out.png.123-deadbeef.part'), 'half');
    expect(storage.resolve('.out.png.123-deadbeef.part')).toBeUndefined();
    expect(await storage.clear()).toBe(20);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a failed write leaves nothing and throws StorageError', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://h/outputs' });
    await storage.put(KEY, bytes, 'image/png');
    // The target is a directory: rename fails after the temp file was written.
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png'));
    const error = await storage.put('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png', bytes, 'image/png').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(isSuperresError(error) && error.code).toBe('E_STORAGE');
    expect((await readdir(dir)).sort()).toEqual(['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.png', KEY].sort());
  });

  it('refuses path traversal and odd keys, and resolves none of them', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://h/outputs' });
    await writeFile(path.join(root, 'secret.png'), 'secret');
    const bad = [
      '../secret.png',
      '..',
      '.',
      '',
      'a/b.png',
      'a\\b.png',
      '/etc/passwd',
      '.hidden',
      'x.png\0',
      'a b.png',
      'a..png',
      '%2e%2e%2fsecret.png',
      'x.tar.gz',
      'é.png',
      'a'.repeat(300),
    ];
    for (const key of bad) {
      await expect(storage.put(key, bytes, 'image/png'), key).rejects.toBeInstanceOf(InvalidOptionError);
      expect(storage.resolve(key), key).toBeUndefined();
    }
    expect(storage.resolve('../secret.png')).toBeUndefined();
    await expect(readdir(dir)).rejects.toThrow(); // nothing was even created
  });

  it('does not resolve a symlink or a directory', async () => {
    const dir = path.join(root, 'outputs');
    const storage = createLocalStorage({ dir, publicBaseUrl: 'http://h/outputs' });
    await storage.put(KEY, bytes, 'image/png');
    const { symlink, mkdir } = await import('node:fs/promises');
    await writeFile(path.join(root, 'secret'), 'secret');
    await symlink(path.join(root, 'secret'), path.join(dir, 'link.png'));
    await mkdir(path.join(dir, 'sub'));
    expect(storage.resolve('link.png')).toBeUndefined();
    expect(storage.resolve('sub')).toBeUndefined();
    expect(await storage.clear()).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['link.png', 'sub']);
  });

  it('validates its options', () => {
    expect(() => createLocalStorage({ dir: '', publicBaseUrl: 'http://h/o' })).toThrow(/dir must be a non-empty directory path; received ""/);
    expect(() => createLocalStorage({ dir: root, publicBaseUrl: 'outputs' })).toThrow(/publicBaseUrl must be an absolute http\(s\) URL; received "outputs"/);
    expect(() => createLocalStorage({ dir: root, publicBaseUrl: 'ftp://h/o' })).toThrow(InvalidOptionError);
  });
});
