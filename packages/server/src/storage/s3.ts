import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ImageTooLargeError, InvalidOptionError } from '@superres/core';
import type { ClearOptions, Storage, StoredObject } from '../contracts.js';
import { StorageError, assertSafeKey, describeReceived, isSafeKey, trimTrailingSlashes } from './errors.js';
import { loadS3Sdk, type S3Sdk } from './aws-sdk.js';
import { ownKeyOf } from './own-url.js';

export { StorageError, STORAGE_ERROR_CODE } from './errors.js';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, R2, s3rver, ...), e.g. `http://127.0.0.1:9000`; default: AWS. */
  endpoint?: string;
  /** Address buckets as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint host>`. Default false. */
  forcePathStyle?: boolean;
  /** Static credentials (both or neither); when absent the SDK's default chain (AWS_* variables, profiles, roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Key prefix ("folder") for every object; a trailing `/` is added when missing. Default none. */
  prefix?: string;
  /**
   * Public URL of the bucket's root (a CDN, a public bucket domain): object URLs are
   * `<publicBaseUrl>/<prefix><key>`. Default: derived from endpoint, bucket and region.
   */
  publicBaseUrl?: string;
}

export interface S3Storage extends Storage {
  readonly kind: 's3';
  readOwn(url: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Whether the bucket takes a write (for /readyz). */
  ready(): Promise<boolean>;
  readonly bucket: string;
  /** The normalised prefix ('' or ending with '/'). */
  readonly prefix: string;
  /** The public URL an object with this key has (what `put` returns). */
  urlOf(key: string): string;
  /** The object key in the bucket (`prefix + key`). */
  objectKeyOf(key: string): string;
  /** Releases the client's sockets. */
  destroy(): void;
}

/** Cache-Control of every output: names are random, contents never change. */
export const OUTPUT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
  } catch {
    return false;
  }
});

const optionsSchema = z.object({
  bucket: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/),
  region: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/),
  endpoint: httpUrl.optional(),
  forcePathStyle: z.boolean().optional(),
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
  prefix: z.string().regex(/^[A-Za-z0-9._\-/]{0,512}$/).refine((p) => !p.split('/').some((s) => s === '..' || s === '.')).optional(),
  publicBaseUrl: httpUrl.optional(),
});

const expectations: Record<keyof S3StorageOptions, string> = {
  bucket: 'a bucket name (letters, digits, ".", "_", "-"; 2 to 255 characters)',
  region: 'a region name such as us-east-1',
  endpoint: 'an absolute http(s) URL without query',
  forcePathStyle: 'a boolean',
  accessKeyId: 'a non-empty string',
  secretAccessKey: 'a non-empty string',
  prefix: 'a key prefix of letters, digits, ".", "_", "-" and "/" (no ".." segment)',
  publicBaseUrl: 'an absolute http(s) URL without query',
};

const SECRET_OPTIONS = new Set<string>(['secretAccessKey']);

function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '').replace(/\/{2,}/g, '/');
  if (trimmed === '') return '';
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

function encodePath(objectKey: string): string {
  return objectKey.split('/').map(encodeURIComponent).join('/');
}

/**
 * The base URL objects are downloaded from, when no publicBaseUrl is given:
 * - endpoint + path style: `<endpoint>/<bucket>`
 * - endpoint, virtual host: `<scheme>://<bucket>.<endpoint host>[:port]<endpoint path>`
 * - AWS, path style: `https://s3.<region>.amazonaws.com/<bucket>`
 * - AWS, virtual host: `https://<bucket>.s3.<region>.amazonaws.com`
 */
export function defaultS3BaseUrl(options: Pick<S3StorageOptions, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle'>): string {
  const bucket = encodeURIComponent(options.bucket);
  if (options.endpoint !== undefined) {
    const url = new URL(options.endpoint);
    const pathname = trimTrailingSlashes(url.pathname);
    if (options.forcePathStyle) return `${url.origin}${pathname}/${bucket}`;
    return `${url.protocol}//${bucket}.${url.host}${pathname}`;
  }
  if (options.forcePathStyle) return `https://s3.${options.region}.amazonaws.com/${bucket}`;
  return `https://${bucket}.s3.${options.region}.amazonaws.com`;
}

interface AwsErrorLike {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** A clear message for a failed S3 call: what, where, and the likely cause. */
function wrapS3Error(error: unknown, operation: string, where: string, details: Record<string, unknown>): StorageError {
  const e = (error ?? {}) as AwsErrorLike;
  const awsCode = e.Code ?? e.name ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const causeCode = (e as { cause?: { code?: string } }).cause?.code ?? e.code;
  let hint: string;
  switch (awsCode) {
    case 'NoSuchBucket':
      hint = 'the bucket does not exist';
      break;
    case 'InvalidAccessKeyId':
    case 'SignatureDoesNotMatch':
    case 'InvalidToken':
    case 'ExpiredToken':
    case 'CredentialsProviderError':
      hint = 'the credentials were rejected (check the access key id and secret)';
      break;
    case 'AccessDenied':
    case 'Forbidden':
      hint = 'access denied (check the credentials and the bucket policy)';
      break;
    default:
      if (causeCode === 'ECONNREFUSED' || causeCode === 'ENOTFOUND' || causeCode === 'ETIMEDOUT' || causeCode === 'ECONNRESET') {
        hint = `the endpoint could not be reached (${causeCode})`;
      } else {
        hint = e.message && e.message !== awsCode ? e.message : 'unexpected error';
      }
  }
  const statusText = status === undefined ? '' : `, HTTP ${status}`;
  return new StorageError(`S3 ${operation} ${where} failed: ${hint} [${awsCode}${statusText}]`, {
    cause: error,
    details: { ...details, operation, awsCode, httpStatus: status },
  });
}

export function createS3Storage(options: S3StorageOptions): S3Storage {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = (issue?.path[0] ?? 'options') as keyof S3StorageOptions;
    const raw = (options as unknown as Record<string, unknown> | undefined)?.[name];
    const received = SECRET_OPTIONS.has(name) ? '(hidden)' : describeReceived(raw);
    throw new InvalidOptionError(`S3 storage option ${name} must be ${expectations[name] ?? 'valid'}; received ${received}`, {
      details: { option: name },
    });
  }
  const o = parsed.data;
  if ((o.accessKeyId === undefined) !== (o.secretAccessKey === undefined)) {
    const missing = o.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey';
    throw new InvalidOptionError(`S3 storage option ${missing} must be given together with ${missing === 'accessKeyId' ? 'secretAccessKey' : 'accessKeyId'}; received nothing`, {
      details: { option: missing },
    });
  }

  const bucket = o.bucket;
  const prefix = normalisePrefix(o.prefix);
  const baseUrl = o.publicBaseUrl !== undefined ? trimTrailingSlashes(o.publicBaseUrl) : defaultS3BaseUrl(o);
  const endpointLabel = o.endpoint ?? `AWS ${o.region}`;

  const config: S3ClientConfig = {
    region: o.region,
    forcePathStyle: o.forcePathStyle ?? false,
    // S3-compatible servers vary in their support of the SDK's default flexible checksums:
    // send and check them only where the operation requires one (DeleteObjects).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (o.endpoint !== undefined) config.endpoint = o.endpoint;
  if (o.accessKeyId !== undefined && o.secretAccessKey !== undefined) {
    config.credentials = { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey };
  }
  let client: S3Client | undefined;
  let destroyed = false;
  /** The SDK and the client, created on first use. */
  async function connect(operation: string): Promise<{ sdk: S3Sdk; client: S3Client }> {
    let sdk: S3Sdk;
    try {
      sdk = await loadS3Sdk();
    } catch (error) {
      throw new StorageError(`S3 ${operation} failed: could not load @aws-sdk/client-s3: ${(error as Error).message}`, {
        cause: error,
        details: { operation, bucket },
      });
    }
    if (destroyed) throw new StorageError(`S3 ${operation} failed: the storage was destroyed`, { details: { operation, bucket } });
    client ??= new sdk.S3Client(config);
    return { sdk, client };
  }

  const objectKeyOf = (key: string): string => `${prefix}${key}`;
  const urlOf = (key: string): string => `${baseUrl}/${encodePath(objectKeyOf(key))}`;

  async function readOwn(url: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const key = ownKeyOf(url, urlOf(''));
    if (key === undefined) return undefined;
    const objectKey = objectKeyOf(key);
    const { sdk, client } = await connect('GetObject');
    let answer;
    try {
      answer = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: objectKey }));
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw wrapS3Error(error, 'GetObject', `of "${objectKey}" from bucket "${bucket}" at ${endpointLabel}`, { bucket, key: objectKey });
    }
    if ((answer.ContentLength ?? 0) > maxBytes) {
      answer.Body?.transformToWebStream().cancel().catch(() => undefined);
      throw new ImageTooLargeError(`url: the stored image has ${answer.ContentLength} bytes, more than ${maxBytes} (SUPERRES_MAX_INPUT_BYTES)`);
    }
    return answer.Body ? answer.Body.transformToByteArray() : new Uint8Array(0);
  }

  async function put(key: string, bytes: Uint8Array, contentType: string): Promise<StoredObject> {
    assertSafeKey(key);
    const objectKey = objectKeyOf(key);
    const { sdk, client } = await connect('PutObject');
    try {
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: bucket,
          Key: objectKey,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: contentType,
          CacheControl: OUTPUT_CACHE_CONTROL,
        }),
      );
    } catch (error) {
      throw wrapS3Error(error, 'PutObject', `of "${objectKey}" to bucket "${bucket}" at ${endpointLabel}`, { bucket, key: objectKey });
    }
    return { url: urlOf(key), key };
  }

  /**
   * Deletes the objects directly under the prefix whose names are storage keys (what `put`
   * writes); deeper "folders" and other names are left alone. Lists page by page (ListObjectsV2,
   * up to 1000 keys each) and deletes each page with one DeleteObjects call (at most 1000 keys).
   */
  async function clear(options: ClearOptions = {}): Promise<number> {
    const cutoff = options.olderThanMs === undefined ? undefined : Date.now() - options.olderThanMs;
    let removed = 0;
    let token: string | undefined;
    const where = `in bucket "${bucket}" at ${endpointLabel}`;
    const { sdk, client } = await connect('ListObjectsV2');
    do {
      let page;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix === '' ? undefined : prefix,
            MaxKeys: 1000,
            ContinuationToken: token,
          }),
        );
      } catch (error) {
        throw wrapS3Error(error, 'ListObjectsV2', where, { bucket, prefix });
      }
      const keys = (page.Contents ?? [])
        .filter((c) => cutoff === undefined || (c.LastModified !== undefined && c.LastModified.getTime() < cutoff))
        .map((c) => c.Key)
        .filter((k): k is string => k !== undefined && k.startsWith(prefix) && isSafeKey(k.slice(prefix.length)));
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        let result;
        try {
          result = await client.send(
            new sdk.DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          );
        } catch (error) {
          throw wrapS3Error(error, 'DeleteObjects', where, { bucket, prefix });
        }
        const failed = result.Errors ?? [];
        removed += batch.length - failed.length;
        if (failed.length > 0) {
          const first = failed[0];
          throw new StorageError(
            `S3 DeleteObjects ${where} failed for ${failed.length} of ${batch.length} objects (first: "${first?.Key}": ${first?.Code} ${first?.Message ?? ''})`.trimEnd(),
            { details: { bucket, prefix, removed, errors: failed.slice(0, 10) } },
          );
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return removed;
  }

  /**
   * For /readyz: a write of a small probe object (`<prefix>.superres-readyz`, not a storage key,
   * so never served or cleared) with these credentials. HeadBucket alone passed with read-only
   * credentials and with a bucket that refuses writes.
   */
  async function ready(): Promise<boolean> {
    const { sdk, client } = await connect('PutObject');
    return client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}.superres-readyz`, Body: 'ok', ContentType: 'text/plain' })).then(
      () => true,
      () => false,
    );
  }

  return {
    kind: 's3',
    bucket,
    prefix,
    put,
    clear,
    readOwn,
    ready,
    urlOf,
    objectKeyOf,
    destroy: () => {
      destroyed = true;
      client?.destroy();
    },
  };
}
