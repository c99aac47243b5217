import path from 'node:path';
import { z } from 'zod';
import { InvalidOptionError } from '@superres/core';
import { createLocalStorage, type LocalStorage } from './local.js';
import { createS3Storage, type S3Storage, type S3StorageOptions } from './s3.js';
import { describeReceived, trimTrailingSlashes } from './errors.js';

export interface StorageEnvVariable {
  name: string;
  /** The default, as it reads in the README; undefined where the variable has none. */
  default: string | undefined;
  description: string;
}

/** The storage variables, for the server README's configuration table. */
export const STORAGE_ENV_VARIABLES: readonly StorageEnvVariable[] = [
  {
    name: 'SUPERRES_S3_BUCKET',
    default: undefined,
    description:
      'Store outputs in this S3 (or S3-compatible) bucket. Unset: outputs are written to `<SUPERRES_DATA_DIR>/outputs` and served by the server under `<SUPERRES_PUBLIC_URL>/outputs/`.',
  },
  {
    name: 'SUPERRES_S3_ENDPOINT',
    default: undefined,
    description: 'Endpoint of an S3-compatible service (MinIO, Cloudflare R2, Ceph, ...), e.g. `http://minio:9000`. Unset: AWS S3.',
  },
  { name: 'SUPERRES_S3_REGION', default: 'us-east-1', description: 'Region of the bucket.' },
  {
    name: 'SUPERRES_S3_ACCESS_KEY_ID',
    default: undefined,
    description: 'Access key id (with SUPERRES_S3_SECRET_ACCESS_KEY). Unset: the AWS SDK default chain (AWS_ACCESS_KEY_ID, profiles, instance roles).',
  },
  { name: 'SUPERRES_S3_SECRET_ACCESS_KEY', default: undefined, description: 'Secret access key (with SUPERRES_S3_ACCESS_KEY_ID).' },
  {
    name: 'SUPERRES_S3_FORCE_PATH_STYLE',
    default: 'true with SUPERRES_S3_ENDPOINT, else false',
    description: 'Address the bucket as `<endpoint>/<bucket>` (`true`) rather than `<bucket>.<endpoint host>` (`false`). Accepts true/false, 1/0, yes/no.',
  },
  {
    name: 'SUPERRES_S3_PREFIX',
    default: undefined,
    description: 'Key prefix ("folder") for outputs, e.g. `superres/outputs/`. `clear_cache` deletes only output files directly under it.',
  },
  {
    name: 'SUPERRES_S3_PUBLIC_URL',
    default: undefined,
    description:
      'Public URL of the bucket root (a CDN or public bucket domain); output URLs are `<url>/<prefix><key>`. Unset: `<endpoint>/<bucket>/...` (path style), `<scheme>://<bucket>.<endpoint host>/...`, or `https://<bucket>.s3.<region>.amazonaws.com/...`. The bucket (or CDN) must allow anonymous reads of the outputs.',
  },
];

export interface StorageFromEnvOptions {
  /** SUPERRES_DATA_DIR, resolved: local outputs go to `<dataDir>/outputs`. */
  dataDir: string;
  /** SUPERRES_PUBLIC_URL: local outputs are served at `<publicUrl>/outputs/<key>`. */
  publicUrl: string;
}

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.search === '' && u.hash === '';
  } catch {
    return false;
  }
}, 'an absolute http(s) URL without query');

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

interface Variable<T> {
  schema: z.ZodType<T>;
  expected: string;
  secret?: boolean;
}

const VARIABLES = {
  SUPERRES_S3_BUCKET: { schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/), expected: 'a bucket name (letters, digits, ".", "_", "-")' },
  SUPERRES_S3_ENDPOINT: { schema: httpUrl, expected: 'an absolute http(s) URL without query' },
  SUPERRES_S3_REGION: { schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/), expected: 'a region name such as us-east-1' },
  SUPERRES_S3_ACCESS_KEY_ID: { schema: z.string().min(1), expected: 'a non-empty string' },
  SUPERRES_S3_SECRET_ACCESS_KEY: { schema: z.string().min(1), expected: 'a non-empty string', secret: true },
  SUPERRES_S3_FORCE_PATH_STYLE: {
    schema: z
      .string()
      .transform((v) => v.trim().toLowerCase())
      .refine((v) => TRUE.has(v) || FALSE.has(v))
      .transform((v) => TRUE.has(v)),
    expected: 'true or false (also 1/0, yes/no, on/off)',
  },
  SUPERRES_S3_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9._\-/]{1,512}$/).refine((p) => !p.split('/').some((s) => s === '..' || s === '.')),
    expected: 'a key prefix of letters, digits, ".", "_", "-" and "/" (no ".." segment)',
  },
  SUPERRES_S3_PUBLIC_URL: { schema: httpUrl, expected: 'an absolute http(s) URL without query' },
} satisfies Record<string, Variable<unknown>>;

type Env = Record<string, string | undefined>;

/** Reads one variable: unset or blank is undefined; a bad value is an InvalidOptionError naming it. */
function read<T>(env: Env, name: keyof typeof VARIABLES): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const variable: Variable<unknown> = VARIABLES[name];
  const parsed = variable.schema.safeParse(raw.trim());
  if (!parsed.success) {
    const received = variable.secret ? '(hidden)' : describeReceived(raw);
    throw new InvalidOptionError(`${name} must be ${variable.expected}; received ${received}`, { details: { option: name } });
  }
  return parsed.data as T;
}

/**
 * The output storage the environment asks for: S3 when SUPERRES_S3_BUCKET is set, otherwise
 * local disk under `<dataDir>/outputs`, served at `<publicUrl>/outputs`. Check `storage.kind`
 * to know whether the HTTP layer serves `/outputs/` itself (`'local'`, with `resolve`).
 */
export function storageFromEnv(env: Env, options: StorageFromEnvOptions): LocalStorage | S3Storage {
  const bucket = read<string>(env, 'SUPERRES_S3_BUCKET');
  if (bucket === undefined) {
    return createLocalStorage({
      dir: path.join(options.dataDir, 'outputs'),
      publicBaseUrl: `${trimTrailingSlashes(options.publicUrl)}/outputs`,
    });
  }
  const endpoint = read<string>(env, 'SUPERRES_S3_ENDPOINT');
  const accessKeyId = read<string>(env, 'SUPERRES_S3_ACCESS_KEY_ID');
  const secretAccessKey = read<string>(env, 'SUPERRES_S3_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const [given, missing] =
      accessKeyId === undefined
        ? ['SUPERRES_S3_SECRET_ACCESS_KEY', 'SUPERRES_S3_ACCESS_KEY_ID']
        : ['SUPERRES_S3_ACCESS_KEY_ID', 'SUPERRES_S3_SECRET_ACCESS_KEY'];
    throw new InvalidOptionError(`${missing} must be set when ${given} is; received nothing`, { details: { option: missing } });
  }
  const s3: S3StorageOptions = {
    bucket,
    region: read<string>(env, 'SUPERRES_S3_REGION') ?? 'us-east-1',
    forcePathStyle: read<boolean>(env, 'SUPERRES_S3_FORCE_PATH_STYLE') ?? endpoint !== undefined,
  };
  if (endpoint !== undefined) s3.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    s3.accessKeyId = accessKeyId;
    s3.secretAccessKey = secretAccessKey;
  }
  const prefix = read<string>(env, 'SUPERRES_S3_PREFIX');
  if (prefix !== undefined) s3.prefix = prefix;
  const publicBaseUrl = read<string>(env, 'SUPERRES_S3_PUBLIC_URL');
  if (publicBaseUrl !== undefined) s3.publicBaseUrl = publicBaseUrl;
  return createS3Storage(s3);
}
