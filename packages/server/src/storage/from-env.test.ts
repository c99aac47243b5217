import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@superres/core';
import { STORAGE_ENV_VARIABLES, storageFromEnv } from './from-env.js';

const opts = { dataDir: '/var/lib/superres', publicUrl: 'https://up.example.com/' };

describe('storageFromEnv', () => {
  it('is local under <dataDir>/outputs without SUPERRES_S3_BUCKET', () => {
    const storage = storageFromEnv({ SUPERRES_S3_BUCKET: '  ', SUPERRES_S3_REGION: 'not checked when unused!' }, opts);
    expect(storage.kind).toBe('local');
    if (storage.kind !== 'local') return;
    expect(storage.dir).toBe(path.resolve('/var/lib/superres/outputs'));
    expect(storage.publicBaseUrl).toBe('https://up.example.com/outputs');
  });

  it('is S3 with SUPERRES_S3_BUCKET, with defaults', () => {
    const storage = storageFromEnv({ SUPERRES_S3_BUCKET: 'outputs-bucket' }, opts);
    expect(storage.kind).toBe('s3');
    if (storage.kind !== 's3') return;
    expect(storage.bucket).toBe('outputs-bucket');
    expect(storage.prefix).toBe('');
    expect(storage.urlOf('a.png')).toBe('https://outputs-bucket.s3.us-east-1.amazonaws.com/a.png');
    storage.destroy();
  });

  it('reads every S3 variable', () => {
    const env = {
      SUPERRES_S3_BUCKET: 'b1',
      SUPERRES_S3_ENDPOINT: 'http://127.0.0.1:9000',
      SUPERRES_S3_REGION: 'eu-central-1',
      SUPERRES_S3_ACCESS_KEY_ID: 'id',
      SUPERRES_S3_SECRET_ACCESS_KEY: 'secret',
      SUPERRES_S3_PREFIX: 'sr/out',
    };
    const pathStyle = storageFromEnv(env, opts);
    if (pathStyle.kind !== 's3') throw new Error('expected s3');
    // An endpoint defaults to path style.
    expect(pathStyle.urlOf('a.png')).toBe('http://127.0.0.1:9000/b1/sr/out/a.png');
    const vhost = storageFromEnv({ ...env, SUPERRES_S3_FORCE_PATH_STYLE: 'false' }, opts);
    if (vhost.kind !== 's3') throw new Error('expected s3');
    expect(vhost.urlOf('a.png')).toBe('http://b1.127.0.0.1:9000/sr/out/a.png');
    const cdn = storageFromEnv({ ...env, SUPERRES_S3_PUBLIC_URL: 'https://cdn.example.com' }, opts);
    if (cdn.kind !== 's3') throw new Error('expected s3');
    expect(cdn.urlOf('a.png')).toBe('https://cdn.example.com/sr/out/a.png');
    for (const s of [pathStyle, vhost, cdn]) s.destroy();
  });

  it('names the variable of a bad value', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ SUPERRES_S3_ENDPOINT: 'minio:9000' }, /^SUPERRES_S3_ENDPOINT must be an absolute http\(s\) URL without query; received "minio:9000"$/],
      [{ SUPERRES_S3_FORCE_PATH_STYLE: 'maybe' }, /^SUPERRES_S3_FORCE_PATH_STYLE must be true or false .*; received "maybe"$/],
      [{ SUPERRES_S3_REGION: 'us east' }, /^SUPERRES_S3_REGION must be a region name/],
      [{ SUPERRES_S3_PREFIX: '../x' }, /^SUPERRES_S3_PREFIX must be/],
      [{ SUPERRES_S3_PUBLIC_URL: 'cdn.example.com' }, /^SUPERRES_S3_PUBLIC_URL must be/],
      [{ SUPERRES_S3_ACCESS_KEY_ID: 'id' }, /^SUPERRES_S3_SECRET_ACCESS_KEY must be set when SUPERRES_S3_ACCESS_KEY_ID is/],
      [{ SUPERRES_S3_SECRET_ACCESS_KEY: 'shh' }, /^SUPERRES_S3_ACCESS_KEY_ID must be set when SUPERRES_S3_SECRET_ACCESS_KEY is/],
    ];
    for (const [env, message] of bad) {
      let error: unknown;
      try {
        storageFromEnv({ SUPERRES_S3_BUCKET: 'b1', ...env }, opts);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(env)).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toMatch(message);
    }
    expect(() => storageFromEnv({ SUPERRES_S3_BUCKET: 'bad/bucket' }, opts)).toThrow(/^SUPERRES_S3_BUCKET must be a bucket name/);
    // A bad local configuration names the option too.
    expect(() => storageFromEnv({}, { dataDir: '/d', publicUrl: 'nope' })).toThrow(InvalidOptionError);
  });

  it('documents every variable it reads', async () => {
    const names = STORAGE_ENV_VARIABLES.map((v) => v.name);
    expect(names).toEqual([
      'SUPERRES_S3_BUCKET',
      'SUPERRES_S3_ENDPOINT',
      'SUPERRES_S3_REGION',
      'SUPERRES_S3_ACCESS_KEY_ID',
      'SUPERRES_S3_SECRET_ACCESS_KEY',
      'SUPERRES_S3_FORCE_PATH_STYLE',
      'SUPERRES_S3_PREFIX',
      'SUPERRES_S3_PUBLIC_URL',
    ]);
    const source = await import('node:fs/promises').then((fs) => fs.readFile(new URL('./from-env.ts', import.meta.url), 'utf8'));
    const read = new Set([...source.matchAll(/read<\w+>\(env, '(SUPERRES_[A-Z0-9_]+)'\)/g)].map((m) => m[1]));
    expect([...read].sort()).toEqual([...names].sort());
    for (const v of STORAGE_ENV_VARIABLES) expect(v.description.length).toBeGreaterThan(10);
    expect(STORAGE_ENV_VARIABLES.find((v) => v.name === 'SUPERRES_S3_REGION')?.default).toBe('us-east-1');
  });
});
