import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import {
  DEFAULT_MODEL_ID,
  ErrorResponseSchema,
  formatValidationError,
  GetAllModelsResponseSchema,
  LoadModelRequestSchema,
  ProcessingResponseSchema,
  REQUEST_LIMITS,
  SuccessResponseSchema,
  SuperResolutionRequestSchema,
  SuperResolutionResponseSchema,
  SystemDetailsResponseSchema,
  UploadImageRequestSchema,
  WebhookPayloadSchema,
} from './schemas.js';
import { fetchPath, ROUTES } from './routes.js';

/** The message of a failed parse (throws if it succeeded). */
function failure(schema: z.ZodMiniType, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) throw new Error(`expected a failure, got ${JSON.stringify(result.data)}`);
  return formatValidationError(result.error);
}

describe('SuperResolutionRequestSchema', () => {
  it('accepts the Stable Diffusion API example body', () => {
    const body = {
      key: 'your-enterprise-api-key',
      url: 'https://pub-3626123a908346a7a8be8d9295f44e26.r2.dev/generations/0-b7a7c7b2.png',
      scale: 3,
      webhook: null,
      face_enhance: false,
      model_id: 'realesr-general-x4v3',
    };
    expect(SuperResolutionRequestSchema.parse(body)).toEqual({
      key: 'your-enterprise-api-key',
      url: body.url,
      scale: 3,
      model_id: 'realesr-general-x4v3',
      webhook: undefined,
      face_enhance: false,
      track_id: undefined,
    });
  });

  it('leaves defaults to the server and ignores unknown keys', () => {
    const parsed = SuperResolutionRequestSchema.parse({ key: 'k', url: 'http://127.0.0.1:9/a.png', samples: '1', safety_checker: 'no' });
    expect(parsed).toEqual({ key: 'k', url: 'http://127.0.0.1:9/a.png', face_enhance: false, scale: undefined, model_id: undefined, webhook: undefined, track_id: undefined });
    expect(DEFAULT_MODEL_ID).toBe('realesr-general-x4v3');
  });

  it('accepts init_image as url', () => {
    expect(SuperResolutionRequestSchema.parse({ key: 'k', init_image: 'https://x.test/i.jpg' }).url).toBe('https://x.test/i.jpg');
    expect(SuperResolutionRequestSchema.parse({ key: 'k', url: 'https://x.test/i.jpg', init_image: 'https://x.test/i.jpg' }).url).toBe('https://x.test/i.jpg');
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a.jpg', init_image: 'https://x.test/b.jpg' })).toMatch(/init_image/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k' })).toMatch(/^url: required/);
  });

  it('coerces face_enhance from strings and 0/1', () => {
    const parse = (face_enhance: unknown) => SuperResolutionRequestSchema.parse({ key: 'k', url: 'https://x.test/a', face_enhance }).face_enhance;
    expect(parse(true)).toBe(true);
    expect(parse('true')).toBe(true);
    expect(parse('1')).toBe(true);
    expect(parse(1)).toBe(true);
    expect(parse(false)).toBe(false);
    expect(parse('false')).toBe(false);
    expect(parse(0)).toBe(false);
    expect(parse(undefined)).toBe(false);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', face_enhance: 'maybe' })).toBe(
      'face_enhance: expected true or false, received "maybe"',
    );
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', face_enhance: 2 })).toMatch(/^face_enhance:/);
  });

  it('rejects scale 0, negative, non-numbers, naming the field', () => {
    const bad = (scale: unknown) => failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', scale });
    expect(bad(0)).toBe('scale: expected a positive number, received 0');
    expect(bad(-2)).toBe('scale: expected a positive number, received -2');
    expect(bad('abc')).toBe('scale: expected a positive number, received "abc"');
    expect(bad(Number.NaN)).toMatch(/^scale: expected a positive number/);
    expect(bad(Number.POSITIVE_INFINITY)).toMatch(/^scale: expected a positive number/);
    expect(bad(true)).toBe('scale: expected a positive number, received true');
    expect(bad(null)).toBe('scale: expected a positive number, received null');
    expect(bad('')).toMatch(/^scale:/);
    const ok = (scale: unknown) => SuperResolutionRequestSchema.parse({ key: 'k', url: 'https://x.test/a', scale }).scale;
    expect(ok(2.5)).toBe(2.5);
    expect(ok('4')).toBe(4);
    expect(ok(1000)).toBe(1000); // the maximum is the server's
  });

  it('bounds every string a client sends, naming the field and its limit', () => {
    const base = { key: 'k', url: 'https://x.test/a' };
    const long = (n: number) => 'a'.repeat(n);
    const longUrl = (n: number) => `https://x.test/${long(n - 'https://x.test/'.length)}`;
    expect(failure(SuperResolutionRequestSchema, { ...base, track_id: long(30 * 2 ** 20) })).toBe(
      `track_id: at most ${REQUEST_LIMITS.trackId} characters, received ${30 * 2 ** 20}`,
    );
    expect(failure(SuperResolutionRequestSchema, { ...base, url: longUrl(REQUEST_LIMITS.url + 1) })).toBe(
      `url: at most ${REQUEST_LIMITS.url} characters, received ${REQUEST_LIMITS.url + 1}`,
    );
    expect(failure(SuperResolutionRequestSchema, { ...base, webhook: longUrl(REQUEST_LIMITS.url + 1) })).toMatch(/^webhook: /);
    expect(failure(SuperResolutionRequestSchema, { ...base, init_image: longUrl(REQUEST_LIMITS.url + 1), url: undefined })).toMatch(/^init_image: at most/);
    expect(failure(SuperResolutionRequestSchema, { ...base, model_id: long(REQUEST_LIMITS.modelId + 1) })).toMatch(/^model_id: at most/);
    expect(failure(SuperResolutionRequestSchema, { ...base, key: long(REQUEST_LIMITS.key + 1) })).toMatch(/^key: at most/);
    expect(failure(LoadModelRequestSchema, { key: 'k', model_id: 'm', path: long(REQUEST_LIMITS.path + 1) })).toMatch(/^path: at most/);
    // At the limits, accepted.
    const ok = SuperResolutionRequestSchema.parse({ ...base, url: longUrl(REQUEST_LIMITS.url), track_id: long(REQUEST_LIMITS.trackId), model_id: long(REQUEST_LIMITS.modelId) });
    expect(ok.url.length).toBe(REQUEST_LIMITS.url);
    expect(ok.track_id?.length).toBe(REQUEST_LIMITS.trackId);
  });

  it('rejects a missing key, bad URLs and bad webhooks, naming the field', () => {
    expect(failure(SuperResolutionRequestSchema, { url: 'https://x.test/a' })).toBe('key: required');
    expect(failure(SuperResolutionRequestSchema, { key: '', url: 'https://x.test/a' })).toBe('key: must not be empty');
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'ftp://x.test/a' })).toBe('url: expected an http(s) URL, received "ftp://x.test/a"');
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'file:///etc/passwd' })).toMatch(/^url:/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'not a url' })).toMatch(/^url:/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 42 })).toMatch(/^url:/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', webhook: 'javascript:alert(1)' })).toMatch(/^webhook:/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', model_id: 5 })).toMatch(/^model_id:/);
    expect(failure(SuperResolutionRequestSchema, { key: 'k', url: 'https://x.test/a', track_id: {} })).toMatch(/^track_id:/);
  });

  it('normalises webhook, model_id and track_id', () => {
    const parsed = SuperResolutionRequestSchema.parse({ key: 'k', url: 'https://x.test/a', webhook: 'https://hooks.test/h', track_id: 123, model_id: '' });
    expect(parsed.webhook).toBe('https://hooks.test/h');
    expect(parsed.track_id).toBe('123');
    expect(parsed.model_id).toBeUndefined();
    expect(SuperResolutionRequestSchema.parse({ key: 'k', url: 'https://x.test/a', webhook: '', track_id: null }).webhook).toBeUndefined();
  });

  it('is idempotent: a normalised request parses to itself', () => {
    const once = SuperResolutionRequestSchema.parse({ key: 'k', init_image: 'https://x.test/a', scale: '2', face_enhance: 'true', track_id: 7 });
    expect(SuperResolutionRequestSchema.parse(once)).toEqual(once);
  });

  it('converts to JSON Schema (for /openapi.json)', () => {
    const json = z.toJSONSchema(SuperResolutionRequestSchema, { io: 'input' }) as { properties: Record<string, unknown> };
    expect(Object.keys(json.properties)).toEqual(expect.arrayContaining(['key', 'url', 'init_image', 'scale', 'face_enhance']));
    expect(() => z.toJSONSchema(LoadModelRequestSchema, { io: 'input' })).not.toThrow();
    expect(() => z.toJSONSchema(UploadImageRequestSchema, { io: 'input' })).not.toThrow();
    expect(() => z.toJSONSchema(SuperResolutionResponseSchema)).not.toThrow();
    expect(() => z.toJSONSchema(SystemDetailsResponseSchema)).not.toThrow();
  });
});

describe('responses', () => {
  it('parses success, processing and error', () => {
    expect(SuccessResponseSchema.parse({ status: 'success', generationTime: 1.23, id: 'abc', output: 'http://127.0.0.1:8080/outputs/x.png' }).id).toBe('abc');
    expect(SuccessResponseSchema.parse({ status: 'success', generationTime: 0.5, id: 14, output: 'https://cdn.test/x.png' }).id).toBe(14);
    const processing = {
      status: 'processing',
      id: 'j1',
      eta: 12,
      fetch_result: 'http://127.0.0.1:8080/api/v1/enterprise/fetch/j1',
      message: 'Try to fetch request after given estimated time',
      messege: 'Try to fetch request after given estimated time',
      output: '',
    };
    expect(SuperResolutionResponseSchema.parse(processing)).toEqual(processing);
    expect(ProcessingResponseSchema.safeParse({ ...processing, output: 'x' }).success).toBe(false);
    expect(ErrorResponseSchema.parse({ status: 'error', message: 'slow down', retry_after: 3 }).retry_after).toBe(3);
    // Our output is one URL, not the SD API's array.
    expect(SuccessResponseSchema.safeParse({ status: 'success', generationTime: 1, id: 1, output: ['https://cdn.test/x.png'] }).success).toBe(false);
  });

  it('parses model lists and webhook payloads', () => {
    const models = GetAllModelsResponseSchema.parse({
      status: 'success',
      models: [{ model_id: 'realesr-general-x4v3', scale: 4, architecture: 'SRVGGNetCompact', description: 'general', installed: true, default: true }],
    });
    expect(models.models[0]?.default).toBe(true);
    expect(WebhookPayloadSchema.parse({ status: 'error', id: 'j', output: '', message: 'boom', track_id: 'x' }).message).toBe('boom');
  });
});

describe('upload_image and load_model requests', () => {
  it('accepts base64 and data URLs', () => {
    expect(UploadImageRequestSchema.parse({ key: 'k', image: 'iVBORw0KGgo=' })).toEqual({ key: 'k', image: 'iVBORw0KGgo=', mime_type: undefined });
    expect(UploadImageRequestSchema.parse({ key: 'k', image: 'data:image/png;base64,iVBO\nRw0KGgo=' })).toEqual({ key: 'k', image: 'iVBORw0KGgo=', mime_type: 'image/png' });
    expect(failure(UploadImageRequestSchema, { key: 'k', image: 'not base64!' })).toMatch(/^image:/);
    expect(failure(UploadImageRequestSchema, { key: 'k' })).toBe('image: required');
  });

  it('needs exactly one of url or path, and a real sha256', () => {
    const sha = 'AB'.repeat(32);
    expect(LoadModelRequestSchema.parse({ key: 'k', model_id: 'm', url: 'https://x.test/m.pth', sha256: sha }).sha256).toBe(sha.toLowerCase());
    expect(LoadModelRequestSchema.parse({ key: 'k', model_id: 'm', path: '/models/m.pth' }).path).toBe('/models/m.pth');
    expect(failure(LoadModelRequestSchema, { key: 'k', model_id: 'm' })).toMatch(/url or path/);
    expect(failure(LoadModelRequestSchema, { key: 'k', model_id: 'm', url: 'https://x.test/m', path: '/m' })).toMatch(/url or path/);
    expect(failure(LoadModelRequestSchema, { key: 'k', model_id: 'm', path: '/m', sha256: 'abc' })).toMatch(/^sha256:/);
    expect(failure(LoadModelRequestSchema, { key: 'k', path: '/m' })).toBe('model_id: required');
  });
});

describe('routes', () => {
  it('names the SD API paths', () => {
    expect(ROUTES.superResolution).toBe('/api/v1/enterprise/super_resolution');
    expect(ROUTES.fetch).toBe('/api/v1/enterprise/fetch/:id');
    expect(ROUTES.fetchAlias).toBe('/api/v1/enterprise/super_resolution/fetch/:id');
    expect(fetchPath('a/b')).toBe('/api/v1/enterprise/fetch/a%2Fb');
  });
});
