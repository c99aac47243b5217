import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '@superres/core';
import { startS3rver, type RunningS3rver } from '../../test/support/s3rver.js';
import { loadS3Sdk, type S3Sdk } from './aws-sdk.js';
import { createS3Storage, defaultS3BaseUrl, OUTPUT_CACHE_CONTROL, StorageError, type S3Storage, type S3StorageOptions } from './s3.js';

let s3: RunningS3rver;
let sdk: S3Sdk;
const made: S3Storage[] = [];

function storage(overrides: Partial<S3StorageOptions> = {}): S3Storage {
  const created = createS3Storage({
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    ...overrides,
  });
  made.push(created);
  return created;
}

function rawClient(): InstanceType<S3Sdk['S3Client']> {
  return new sdk.S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

const key = (i: number, ext = 'png'): string => `${i.toString(16).padStart(32, '0')}.${ext}`;
const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 1, 2, 255]);

describe('createS3Storage against s3rver', () => {
  beforeAll(async () => {
    try {
      sdk = await loadS3Sdk();
    } catch (error) {
      // Seen when vitest.config.ts resolves with the `module` condition: vitest passes it to Node
      // (--conditions module), and the SDK's dist-es build cannot load in Node.
      throw new Error(
        `@aws-sdk/client-s3 cannot load in this test process (${(error as Error).message.slice(0, 200)}). ` +
          `Is 'module' in resolve.conditions / ssr.resolve.conditions of vitest.config.ts? Node then loads the SDK's dist-es build, which it cannot run; remove 'module' there.`,
      );
    }
    s3 = await startS3rver();
  });
  afterAll(async () => {
    for (const s of made) s.destroy();
    await s3?.stop();
  });

  it('puts an object whose URL serves the bytes and content type over HTTP', async () => {
    const st = storage();
    expect(st.kind).toBe('s3');
    const stored = await st.put(key(1), png, 'image/png');
    expect(stored).toEqual({ key: key(1), url: `${s3.endpoint}/${s3.bucket}/${key(1)}` });
    const res = await fetch(stored.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe(OUTPUT_CACHE_CONTROL);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);
  });

  it('writes under the prefix and builds the URL with it', async () => {
    const st = storage({ prefix: 'runs/outputs' });
    expect(st.prefix).toBe('runs/outputs/');
    const stored = await st.put(key(2, 'webp'), png, 'image/webp');
    expect(stored.url).toBe(`${s3.endpoint}/${s3.bucket}/runs/outputs/${key(2, 'webp')}`);
    const res = await fetch(stored.url);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(png);

    const cdn = storage({ prefix: 'runs/outputs/', publicBaseUrl: 'https://cdn.example.com/media/' });
    expect(cdn.urlOf(key(2, 'webp'))).toBe(`https://cdn.example.com/media/runs/outputs/${key(2, 'webp')}`);
  });

  it('clear deletes every output under its prefix, across pages, and nothing else', async () => {
    const st = storage({ prefix: 'clear-test/' });
    const count = 1005; // more than one ListObjectsV2 page and one DeleteObjects batch
    const queue = Array.from({ length: count }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await st.put(key(i), png, 'image/png');
      }),
    );
    // Neighbours that are not this storage's outputs.
    const client = rawClient();
    try {
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.bucket, Key: 'clear-test/nested/keep.png', Body: 'x' }));
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.bucket, Key: 'clear-testimony.png', Body: 'x' }));
      await client.send(new sdk.PutObjectCommand({ Bucket: s3.bucket, Key: 'other/keep.png', Body: 'x' }));

      expect(await st.clear()).toBe(count);
      expect((await fetch(st.urlOf(key(0)))).status).toBe(404);
      expect((await fetch(st.urlOf(key(count - 1)))).status).toBe(404);
      for (const kept of ['clear-test/nested/keep.png', 'clear-testimony.png', 'other/keep.png']) {
        const got = await client.send(new sdk.GetObjectCommand({ Bucket: s3.bucket, Key: kept }));
        expect(await got.Body?.transformToString()).toBe('x');
      }
      expect(await st.clear()).toBe(0);
    } finally {
      client.destroy();
    }
  });

  it('reads its own objects by their public URL, and nothing else', async () => {
    const st = storage({ prefix: 'own/' });
    const { url } = await st.put(key(3), png, 'image/png');
    expect(await st.readOwn(url, 1 << 20)).toEqual(new Uint8Array(png));
    expect(await st.readOwn(st.urlOf(key(4)), 1 << 20)).toBeUndefined(); // not there
    expect(await st.readOwn(`${url}x`, 1 << 20)).toBeUndefined();
    expect(await st.readOwn('http://127.0.0.1:1/elsewhere.png', 1 << 20)).toBeUndefined();
    await expect(st.readOwn(url, 4)).rejects.toMatchObject({ code: 'E_IMAGE_TOO_LARGE' });
  });

  it('clear with olderThanMs deletes only the objects written longer ago (SUPERRES_OUTPUT_TTL)', async () => {
    const st = storage({ prefix: 'ttl-test/' });
    await st.put(key(1), png, 'image/png');
    await st.put(key(2), png, 'image/png');
    expect(await st.clear({ olderThanMs: 3_600_000 })).toBe(0);
    expect((await fetch(st.urlOf(key(1)))).status).toBe(200);
    // S3 keeps LastModified to the second: 2 s from now is past it.
    await new Promise((r) => setTimeout(r, 2100));
    expect(await st.clear({ olderThanMs: 1000 })).toBe(2);
    expect((await fetch(st.urlOf(key(2)))).status).toBe(404);
  });

  it('clear without a prefix deletes the outputs at the bucket root', async () => {
    const st = storage();
    await st.put(key(7), png, 'image/png');
    await st.put(key(8), png, 'image/png');
    expect(await st.clear()).toBeGreaterThanOrEqual(2);
    expect((await fetch(st.urlOf(key(7)))).status).toBe(404);
  });

  it('wrong credentials: StorageError with a clear message', async () => {
    const st = storage({ accessKeyId: 'NOT-A-KEY', secretAccessKey: 'nope' });
    const error = await st.put(key(3), png, 'image/png').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    const e = error as StorageError;
    expect(e.code).toBe('E_STORAGE');
    expect(e.message).toMatch(/S3 PutObject .*bucket "superres-test".*credentials were rejected.*InvalidAccessKeyId, HTTP 403/);
    expect(e.cause).toBeDefined();
    await expect(st.clear()).rejects.toThrow(/S3 ListObjectsV2 .*credentials were rejected/);
  });

  it('missing bucket: StorageError naming the bucket', async () => {
    const st = storage({ bucket: 'no-such-bucket' });
    const error = await st.put(key(4), png, 'image/png').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/bucket "no-such-bucket".*the bucket does not exist \[NoSuchBucket, HTTP 404\]/);
    await expect(st.clear()).rejects.toThrow(/bucket does not exist/);
    expect(await st.ready()).toBe(false);
    expect(await storage({}).ready()).toBe(true);
  });

  it('unreachable endpoint: StorageError', async () => {
    const st = storage({ endpoint: 'http://127.0.0.1:1' });
    const error = await st.put(key(5), png, 'image/png').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/S3 PutObject .*http:\/\/127\.0\.0\.1:1 failed/);
  });

  it('refuses unsafe keys before any request', async () => {
    const st = storage();
    await expect(st.put('../x.png', png, 'image/png')).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(st.put('a/b.png', png, 'image/png')).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('createS3Storage options and URLs', () => {
  it('derives URLs from endpoint, bucket and region', () => {
    expect(defaultS3BaseUrl({ bucket: 'b', region: 'eu-west-3' })).toBe('https://b.s3.eu-west-3.amazonaws.com');
    expect(defaultS3BaseUrl({ bucket: 'b', region: 'eu-west-3', forcePathStyle: true })).toBe('https://s3.eu-west-3.amazonaws.com/b');
    expect(defaultS3BaseUrl({ bucket: 'b', region: 'r', endpoint: 'http://minio:9000/', forcePathStyle: true })).toBe('http://minio:9000/b');
    expect(defaultS3BaseUrl({ bucket: 'b', region: 'r', endpoint: 'https://s3.example.com:8443' })).toBe('https://b.s3.example.com:8443');
  });

  it('validates options, naming the option', () => {
    const base = { bucket: 'bkt', region: 'us-east-1' };
    expect(() => createS3Storage({ ...base, bucket: '' })).toThrow(/option bucket must be/);
    expect(() => createS3Storage({ ...base, endpoint: 'minio:9000' })).toThrow(/option endpoint must be an absolute http\(s\) URL without query; received "minio:9000"/);
    expect(() => createS3Storage({ ...base, prefix: '../up' })).toThrow(/option prefix must be/);
    expect(() => createS3Storage({ ...base, accessKeyId: 'a' })).toThrow(/secretAccessKey must be given together with accessKeyId/);
    expect(() => createS3Storage({ ...base, accessKeyId: 'a', secretAccessKey: '' })).toThrow(/secretAccessKey must be a non-empty string; received \(hidden\)/);
    expect(() => createS3Storage({ ...base, publicBaseUrl: 'cdn' })).toThrow(InvalidOptionError);
  });
});
