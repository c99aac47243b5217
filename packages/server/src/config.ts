/**
 * Every SUPERRES_* setting of the server in one table: the table is data, so the README's table
 * and the validation come from the same place. A bad value names the variable.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DEFAULT_MAX_MEMORY, formatByteSize, InvalidOptionError, parseByteSize } from '@superres/core';
import { STORAGE_ENV_VARIABLES } from './storage/from-env.js';

export type Env = Readonly<Record<string, string | undefined>>;

const int = (min: number) => z.coerce.number().int().min(min);
const positive = z.coerce.number().positive().finite();
const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'expected true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0));
const text = z.string().trim().min(1);
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const logLevel = z.string().trim().toLowerCase().pipe(z.enum(LOG_LEVELS));
/** A model id (what the store and the registry accept), never a path: files come in through load_model. */
const modelId = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'expected a model id (letters, digits, . _ -)');
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `7d`, `12h`, `30m`, `45s`, `500ms`, or a number of seconds; `0` means never. In milliseconds. */
const duration = z.string().transform((v, ctx) => {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(v.trim());
  if (!match) {
    ctx.issues.push({ code: 'custom', input: v, message: 'expected a duration such as 7d, 12h, 30m, 45s or 0' });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 's').toLowerCase()]!);
});
/** A byte size, or 0 for "no limit". */
const byteSizeOrZero = z.string().transform((v, ctx) => {
  if (v.trim() === '0') return 0;
  try {
    return parseByteSize(v);
  } catch {
    ctx.issues.push({ code: 'custom', input: v, message: 'expected a size such as 512M or 1G, or 0' });
    return z.NEVER;
  }
});
const autoOrInt = z.union([z.literal('auto'), int(0)], { error: 'expected "auto" or an integer >= 0' });
const byteSize = z.string().transform((v, ctx) => {
  try {
    return parseByteSize(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 512M, 2G or a number of bytes' });
    return z.NEVER;
  }
});
const url = z.string().trim().url();
/** An http(s) URL: a mirror the model store downloads from (fetch reads no other scheme). */
const httpUrl = url.refine((v) => /^https?:\/\//i.test(v), 'expected an http:// or https:// URL');
/**
 * Browser origins allowed to call the API cross-origin: `*`, or a comma-separated list of exact
 * `http(s)://host[:port]` origins, kept in the form browsers send (lower case, no default port).
 */
const corsOrigins = z.string().transform((v, ctx) => {
  const entries = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (entries.includes('*')) {
    if (entries.length > 1) ctx.issues.push({ code: 'custom', input: v, message: '`*` (any origin) must be the only entry' });
    return ['*'];
  }
  const origins: string[] = [];
  for (const entry of entries) {
    const origin = parseOrigin(entry);
    if (origin === undefined) {
      ctx.issues.push({ code: 'custom', input: v, message: `${JSON.stringify(entry)} is not an origin: expected scheme://host[:port], e.g. https://app.example.com (http or https, no path, no trailing slash)` });
    } else if (!origins.includes(origin)) origins.push(origin);
  }
  return origins;
});

/** `http(s)://host[:port]` as a browser's Origin header writes it, or undefined. */
function parseOrigin(entry: string): string | undefined {
  if (!/^https?:\/\/[^/?#@\\\s]+$/i.test(entry)) return undefined;
  try {
    const parsed = new URL(entry);
    return parsed.hostname === '' ? undefined : parsed.origin;
  } catch {
    return undefined;
  }
}

export interface ConfigVariable {
  /** The environment variable. */
  name: string;
  /** Default, as the README shows it. */
  default: string;
  description: string;
}

/** [config field, variable, schema, default shown, description]; the default value itself is in `defaults`. */
const TABLE = [
  ['port', 'SUPERRES_PORT', int(0).max(65535), '3000', 'TCP port to listen on (0: any free port).'],
  ['host', 'SUPERRES_HOST', text, '127.0.0.1', 'Address to listen on. Use 0.0.0.0 only behind a proxy you trust.'],
  ['publicUrl', 'SUPERRES_PUBLIC_URL', url, 'http://HOST:PORT', 'Base URL clients reach the server at (output and fetch_result URLs).'],
  ['dataDir', 'SUPERRES_DATA_DIR', text, '$XDG_DATA_HOME/superres or ~/.local/share/superres', 'Job records, generated keys, local outputs.'],
  ['modelsDir', 'SUPERRES_MODELS_DIR', text, '$XDG_CACHE_HOME/superres/models, else ~/.cache/superres/models', 'Model weights and converted graphs (shared with the CLI).'],
  ['modelsBaseUrl', 'SUPERRES_MODELS_BASE_URL', httpUrl, '(unset: the GitHub release URLs)', 'Mirror to download catalog weights (upscalers and face models) from: the base replaces each download URL up to the file name, so the mirror serves the upstream file names (`<base>/realesr-animevideov3.pth`, `<base>/detection_Resnet50_Final.pth`). The CLI reads it too.'],
  ['defaultModel', 'SUPERRES_DEFAULT_MODEL', modelId, 'realesr-general-x4v3', 'The model of requests that name none (`model_id` absent): a catalog id or one imported with `load_model`.'],
  ['apiKeys', 'SUPERRES_API_KEYS', list, '(generated)', 'Comma-separated API keys. None: one is generated at first start, stored in the data dir and printed once.'],
  ['adminKeys', 'SUPERRES_ADMIN_KEYS', list, '(generated)', 'Comma-separated admin keys (management routes; also valid API keys). None: generated like the API key.'],
  ['redisUrl', 'SUPERRES_REDIS_URL', text, '(unset: embedded queue)', 'Redis URL: jobs go to BullMQ and any number of `superres worker` processes.'],
  ['worker', 'SUPERRES_WORKER', bool, 'true', 'With SUPERRES_REDIS_URL: whether the API process also runs a worker.'],
  ['allowPrivateUrls', 'SUPERRES_ALLOW_PRIVATE_URLS', bool, 'false', 'Allow input, webhook and `load_model` URLs on private and loopback addresses. Link-local addresses (169.254.0.0/16, fe80::/10, where cloud metadata lives), the other cloud metadata endpoints, multicast and broadcast stay refused even then.'],
  ['maxScale', 'SUPERRES_MAX_SCALE', positive, '8', 'Largest `scale` a request may ask for.'],
  ['maxInputBytes', 'SUPERRES_MAX_INPUT_BYTES', int(1), '33554432', 'Largest input download or upload, in bytes.'],
  ['maxJsonBytes', 'SUPERRES_MAX_JSON_BYTES', byteSize, '64 KiB', 'Largest JSON body of every route but `upload_image` (whose limit follows SUPERRES_MAX_INPUT_BYTES); past it, HTTP 413.'],
  ['maxInputPixels', 'SUPERRES_MAX_INPUT_PIXELS', int(1), '16777216', 'Largest input image, in pixels (decompression bombs).'],
  ['fetchTimeoutMs', 'SUPERRES_FETCH_TIMEOUT_MS', int(1), '30000', 'Time limit for downloading an input image.'],
  ['syncWaitMs', 'SUPERRES_SYNC_WAIT_MS', int(0), '20000', 'How long super_resolution waits for the result before answering `processing`.'],
  ['concurrency', 'SUPERRES_CONCURRENCY', int(1), '2', 'Jobs run at once by this process (two overlap one job\'s download and encoding with the other\'s inference: more requests/s, see BENCHMARKS.md).'],
  ['perKeyQueueLimit', 'SUPERRES_PER_KEY_QUEUE_LIMIT', int(1), '10', 'Queued or running jobs one key may have; past it, HTTP 429.'],
  ['webhookSecret', 'SUPERRES_WEBHOOK_SECRET', text, '(generated)', 'HMAC-SHA256 secret for webhook signatures. None: generated and stored in the data dir.'],
  ['tile', 'SUPERRES_TILE', autoOrInt, 'auto', 'Tile size in input pixels: `auto` fits SUPERRES_MAX_MEMORY; 0 runs the whole image at once.'],
  ['tilePad', 'SUPERRES_TILE_PAD', autoOrInt, 'auto', "Context pixels around each tile: `auto` is the model's receptive radius, capped at 32."],
  ['maxMemory', 'SUPERRES_MAX_MEMORY', byteSize, `${formatByteSize(DEFAULT_MAX_MEMORY)} x SUPERRES_CONCURRENCY`, 'Memory budget of the running jobs together (their tiles in flight and the runtime\'s working memory; input and output images excluded), shared equally by the SUPERRES_CONCURRENCY jobs.'],
  ['workers', 'SUPERRES_WORKERS', int(1), '1', 'Inference worker threads (models run off the HTTP thread).'],
  ['threads', 'SUPERRES_THREADS', int(1), '(cores / workers)', 'ONNX Runtime threads per inference worker.'],
  ['threadSpinning', 'SUPERRES_THREAD_SPINNING', bool, 'false', 'Whether idle ONNX Runtime threads spin-wait for work: on burns CPU while waiting for a slightly lower latency; off suits a shared host.'],
  ['architectureModules', 'SUPERRES_ARCHITECTURES', list, '(none)', 'Comma-separated JavaScript modules (paths or file URLs) that register architectures of your own: a default export `(api) => api.registerArchitecture({...})`, or a module that imports `registerArchitecture` from the same `@superres/models` the server runs. Loaded at start, in the server and in each inference worker. The CLI reads it too.'],
  ['modelImportDirs', 'SUPERRES_MODEL_IMPORT_DIRS', list, '(none)', 'Comma-separated directories whose files `load_model` may read by `path` (regular files only, symbolic links resolved). None: `load_model` takes URLs only.'],
  ['maxModelBytes', 'SUPERRES_MAX_MODEL_BYTES', byteSize, '1 GiB', 'Largest model file `load_model` reads or downloads.'],
  ['jobTtlMs', 'SUPERRES_JOB_TTL', duration, '7d', 'How long finished job records are kept (then `fetch` answers 404); `0` keeps them forever.'],
  ['outputTtlMs', 'SUPERRES_OUTPUT_TTL', duration, '7d', 'How long outputs and uploads are kept in storage (swept hourly); `0` keeps them forever.'],
  ['uploadQuotaBytes', 'SUPERRES_UPLOAD_QUOTA', byteSizeOrZero, '512 MiB', 'Bytes one key may upload per hour (`upload_image`); past it, HTTP 429 with `retry_after`. `0`: no limit.'],
  ['computeQuotaMs', 'SUPERRES_COMPUTE_QUOTA', duration, '1h', "Processing time one key's jobs may take per hour; a key past it gets HTTP 429 with `retry_after` until it is paid back (a job is charged when it finishes). `0`: no limit."],
  ['modelCacheSize', 'SUPERRES_MODEL_CACHE_SIZE', int(1), '2', 'Loaded models kept in memory.'],
  ['logLevel', 'SUPERRES_LOG_LEVEL', logLevel, 'info', 'Least severe log lines written (JSON on stdout): fatal, error, warn, info, debug, trace or silent. `LOG_LEVEL` is read when this is not set.'],
  ['faceModel', 'SUPERRES_FACE_MODEL', modelId, 'GFPGANv1.4', 'Face restorer of `face_enhance: true`: a catalog id (`GFPGANv1.4`, `GFPGANv1.3`) or a GFPGANv1Clean checkpoint imported with `load_model`.'],
  ['faceDetector', 'SUPERRES_FACE_DETECTOR', modelId, 'retinaface_resnet50', 'Face detector of `face_enhance: true`: `retinaface_resnet50` (the reference\'s), `retinaface_mobile0.25` (lighter), or an imported RetinaFace checkpoint.'],
  ['faceParser', 'SUPERRES_FACE_PARSER', modelId, 'parsenet', 'Face parser whose mask pastes restored faces back: `parsenet`, an imported ParseNet, or `none` for the plain eroded and blurred mask.'],
  ['shutdownGraceMs', 'SUPERRES_SHUTDOWN_GRACE_MS', int(0), '30000', 'On SIGTERM, how long running jobs may finish before going back to the queue.'],
  ['webhookTimeoutMs', 'SUPERRES_WEBHOOK_TIMEOUT_MS', int(1), '10000', 'Time limit of one webhook delivery attempt.'],
  ['webhookAttempts', 'SUPERRES_WEBHOOK_ATTEMPTS', int(1), '5', 'Webhook delivery attempts (exponential backoff between them).'],
  ['corsOrigins', 'SUPERRES_CORS_ORIGINS', corsOrigins, '(none: no CORS headers)', 'Browser origins allowed to call the API from their pages: comma-separated exact origins (`https://app.example.com`, `http://localhost:5173`), or `*` for any. No credentials are allowed (keys travel in the body or `Authorization`). See "Browser clients and the demo".'],
  ['demoDir', 'SUPERRES_DEMO_DIR', text, '(unset: not served)', 'A directory of static files (the built browser demo) served under `/demo/`, with cross-origin isolation headers. It must exist and hold an `index.html`.'],
] as const;

type Row = (typeof TABLE)[number];
type Field = Row[0];
type ValueOf<F extends Field> = z.output<Extract<Row, readonly [F, ...unknown[]]>[2]>;

export interface ServerConfig {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  modelsDir?: string;
  /** Mirror of the catalog weights (the store rebases each download URL on it); unset: upstream. */
  modelsBaseUrl?: string;
  apiKeys: string[];
  adminKeys: string[];
  redisUrl?: string;
  worker: boolean;
  allowPrivateUrls: boolean;
  maxScale: number;
  maxInputBytes: number;
  maxJsonBytes: number;
  maxInputPixels: number;
  fetchTimeoutMs: number;
  syncWaitMs: number;
  concurrency: number;
  perKeyQueueLimit: number;
  webhookSecret?: string;
  tile: number | 'auto';
  tilePad: number | 'auto';
  /** Unset: DEFAULT_MAX_MEMORY per job. */
  maxMemory?: number;
  workers?: number;
  threads?: number;
  threadSpinning: boolean;
  /** Architecture modules (file URLs) loaded at start, in the server and in each inference worker. */
  architectureModules: string[];
  modelImportDirs: string[];
  maxModelBytes: number;
  jobTtlMs: number;
  outputTtlMs: number;
  uploadQuotaBytes: number;
  computeQuotaMs: number;
  modelCacheSize: number;
  logLevel: LogLevel;
  defaultModel: string;
  faceModel: string;
  faceDetector: string;
  /** `none`: no parsing, the plain mask. */
  faceParser: string;
  shutdownGraceMs: number;
  webhookTimeoutMs: number;
  webhookAttempts: number;
  /** Origins allowed by CORS (as browsers write them); `['*']`: any; empty or unset: no CORS headers. */
  corsOrigins?: string[];
  /** Static files served under /demo/ (absolute); unset: no /demo routes. */
  demoDir?: string;
  /** The environment the config was read from (storage reads its own variables from it). */
  env: Env;
}

/** The documented table: every variable, its default and what it does. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  ...TABLE.map(([, name, , def, description]) => ({ name, default: def, description })),
  ...STORAGE_ENV_VARIABLES.map((v) => ({ name: v.name, default: v.default ?? '', description: v.description })),
];

function defaultDataDir(env: Env): string {
  const base = env.XDG_DATA_HOME ? resolve(env.XDG_DATA_HOME) : join(homedir(), '.local', 'share');
  return join(base, 'superres');
}

const DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  apiKeys: [],
  adminKeys: [],
  worker: true,
  allowPrivateUrls: false,
  maxScale: 8,
  maxInputBytes: 32 * 1024 * 1024,
  maxJsonBytes: 64 * 1024,
  maxInputPixels: 16 * 1024 * 1024,
  fetchTimeoutMs: 30_000,
  syncWaitMs: 20_000,
  concurrency: 2,
  perKeyQueueLimit: 10,
  tile: 'auto',
  tilePad: 'auto',
  threadSpinning: false,
  architectureModules: [],
  modelImportDirs: [],
  maxModelBytes: 1024 * 1024 * 1024,
  jobTtlMs: 7 * 86_400_000,
  outputTtlMs: 7 * 86_400_000,
  uploadQuotaBytes: 512 * 1024 * 1024,
  computeQuotaMs: 3_600_000,
  modelCacheSize: 2,
  logLevel: 'info',
  defaultModel: 'realesr-general-x4v3',
  faceModel: 'GFPGANv1.4',
  faceDetector: 'retinaface_resnet50',
  faceParser: 'parsenet',
  shutdownGraceMs: 30_000,
  webhookTimeoutMs: 10_000,
  webhookAttempts: 5,
  corsOrigins: [],
} satisfies Partial<{ [F in Field]: ValueOf<F> }>;

/**
 * Reads the configuration from `env` (default process.env); `overrides` (CLI flags) win over
 * the environment. Throws InvalidOptionError naming the variable on a bad value.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [field, name, schema] of TABLE) {
    // The conventional LOG_LEVEL stands in for SUPERRES_LOG_LEVEL.
    const raw = name === 'SUPERRES_LOG_LEVEL' && !env[name]?.trim() ? env.LOG_LEVEL : env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join('; ');
      throw new InvalidOptionError(`${name}: ${why} (received ${JSON.stringify(raw)})`, { details: { option: name } });
    }
    out[field] = parsed.data;
  }
  for (const [field, value] of Object.entries(overrides)) if (value !== undefined) out[field] = value;
  const config = out as unknown as ServerConfig;
  config.dataDir = resolve(config.dataDir ?? defaultDataDir(env));
  if (config.modelsDir) config.modelsDir = resolve(config.modelsDir);
  config.modelImportDirs = config.modelImportDirs.map((dir) => resolve(dir));
  config.architectureModules = config.architectureModules.map((m) => (/^file:/i.test(m) ? new URL(m).href : pathToFileURL(resolve(m)).href));
  if (config.demoDir) config.demoDir = resolve(config.demoDir);
  if (!config.publicUrl) config.publicUrl = `http://${hostForUrl(config.host)}:${config.port}`;
  config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  config.env = env;
  return config;
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** The README table (markdown), generated from CONFIG_VARIABLES. */
export function configTableMarkdown(): string {
  const rows = CONFIG_VARIABLES.map((v) => `| \`${v.name}\` | ${v.default} | ${v.description} |`);
  return ['| variable | default | what it does |', '|---|---|---|', ...rows].join('\n');
}
