/**
 * The client against a real HTTP server on loopback. The server here is a scripted fixture that
 * speaks the wire contract; the client is what is under test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, schemaValidation, SuperresApiError, SuperresTimeoutError, SuperresValidationError } from '../src/index.js';

interface Recorded {
  path: string;
  body: unknown;
  headers: IncomingMessage['headers'];
}

type Reply = { status?: number; json?: unknown; text?: string; headers?: Record<string, string> } | 'hang';
type Handler = (path: string, body: unknown, count: number) => Reply;

let server: Server;
let baseUrl: string;
let handler: Handler;
let requests: Recorded[];

function jobUrl(path: string): string {
  return `${baseUrl}${path}`;
}

const processing = (id: string) => ({
  status: 'processing',
  id,
  eta: 0.01,
  fetch_result: jobUrl(`/api/v1/enterprise/fetch/${id}`),
  message: 'Try to fetch request after given estimated time',
  messege: 'Try to fetch request after given estimated time',
  output: '',
});
const success = (id: string) => ({ status: 'success', generationTime: 0.42, id, output: jobUrl(`/outputs/${id}.png`) });

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const path = req.url ?? '';
      requests.push({ path, body, headers: req.headers });
      const reply = handler(path, body, requests.filter((r) => r.path === path).length);
      if (reply === 'hang') return; // never answers
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.text ?? JSON.stringify(reply.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests = [];
  handler = () => ({ status: 404, json: { status: 'error', message: 'not found' } });
});

describe('superResolution', () => {
  it('submits, polls fetch while processing, and answers the success', async () => {
    // processing (submit), processing (first fetch), success (second fetch)
    handler = (path, _body, count) => {
      if (path === '/api/v1/enterprise/super_resolution') return { json: processing('job-1') };
      if (path === '/api/v1/enterprise/fetch/job-1') return { json: count < 2 ? processing('job-1') : success('job-1') };
      return { status: 404, json: { status: 'error', message: 'not found' } };
    };
    // With schema validation the body goes out normalised, as the server reads it.
    const client = createClient({ baseUrl, key: 'user-key', validation: schemaValidation });
    const result = await client.superResolution(
      { init_image: 'http://127.0.0.1:1/in.png', scale: '3', face_enhance: 'true', track_id: 9, extra: 'ignored' } as never,
      { pollIntervalMs: 10, timeoutMs: 10_000 },
    );
    expect(result).toEqual(success('job-1'));
    expect(requests.map((r) => r.path)).toEqual([
      '/api/v1/enterprise/super_resolution',
      '/api/v1/enterprise/fetch/job-1',
      '/api/v1/enterprise/fetch/job-1',
    ]);
    expect(requests[0]?.body).toEqual({ key: 'user-key', url: 'http://127.0.0.1:1/in.png', scale: 3, face_enhance: true, track_id: '9' });
    expect(requests[0]?.headers['content-type']).toBe('application/json');
    expect(requests[1]?.body).toEqual({ key: 'user-key' });
  });

  it('answers at once when the server finishes within its wait', async () => {
    handler = () => ({ json: success('fast') });
    const client = createClient({ baseUrl: `${baseUrl}/`, key: 'k' });
    expect(await client.superResolution({ url: 'https://img.test/a.png' })).toEqual(success('fast'));
    expect(requests).toHaveLength(1);
  });

  it('times out with SuperresTimeoutError naming the job', async () => {
    handler = () => ({ json: processing('slow') });
    const client = createClient({ baseUrl, key: 'k' });
    const error = await client.superResolution({ url: 'https://img.test/a.png' }, { timeoutMs: 150, pollIntervalMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuperresTimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'E_TIMEOUT', id: 'slow', timeoutMs: 150 });
    expect(requests.length).toBeGreaterThan(1);
  });

  it('times out while a request hangs', async () => {
    handler = () => 'hang';
    const client = createClient({ baseUrl, key: 'k' });
    const started = Date.now();
    await expect(client.superResolution({ url: 'https://img.test/a.png' }, { timeoutMs: 150 })).rejects.toBeInstanceOf(SuperresTimeoutError);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(client.getAllModels({ timeoutMs: 100 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('stops on abort with an AbortError, while sleeping or while a request hangs', async () => {
    handler = () => ({ json: processing('p') });
    const client = createClient({ baseUrl, key: 'k' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(client.superResolution({ url: 'https://img.test/a.png' }, { signal: controller.signal, pollIntervalMs: 20 })).rejects.toMatchObject({
      name: 'AbortError',
    });

    handler = () => 'hang';
    const hanging = new AbortController();
    setTimeout(() => hanging.abort(), 100);
    await expect(client.superResolution({ url: 'https://img.test/a.png' }, { signal: hanging.signal })).rejects.toMatchObject({ name: 'AbortError' });

    requests = [];
    await expect(client.fetch('x', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests).toHaveLength(0);
  });

  it('throws SuperresApiError with retryAfter from a 429 body or the Retry-After header', async () => {
    handler = () => ({ status: 429, json: { status: 'error', message: 'too many queued jobs for this key', retry_after: 7 } });
    const client = createClient({ baseUrl, key: 'k' });
    const error = await client.superResolution({ url: 'https://img.test/a.png' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuperresApiError);
    expect(error).toMatchObject({ status: 429, code: 'E_API', retryAfter: 7, message: 'too many queued jobs for this key' });
    expect((error as SuperresApiError).body).toEqual({ status: 'error', message: 'too many queued jobs for this key', retry_after: 7 });

    handler = () => ({ status: 503, text: '<html>busy</html>', headers: { 'content-type': 'text/html', 'retry-after': '12' } });
    await expect(client.superResolution({ url: 'https://img.test/a.png' })).rejects.toMatchObject({ status: 503, retryAfter: 12, code: 'E_API' });
  });

  it('throws for error answers: HTTP 4xx, HTTP 200 with status error, and a job that fails while polled', async () => {
    const client = createClient({ baseUrl, key: 'wrong' });
    handler = () => ({ status: 401, json: { status: 'error', message: 'invalid API key' } });
    await expect(client.superResolution({ url: 'https://img.test/a.png' })).rejects.toMatchObject({ status: 401, message: 'invalid API key', retryAfter: undefined });

    handler = () => ({ status: 200, json: { status: 'error', message: 'model not found: nope' } });
    await expect(client.superResolution({ url: 'https://img.test/a.png', model_id: 'nope' })).rejects.toMatchObject({ status: 200, message: 'model not found: nope' });

    handler = (path) => (path.includes('/fetch/') ? { json: { status: 'error', message: 'the URL is not an image' } } : { json: processing('bad') });
    await expect(client.superResolution({ url: 'https://img.test/a.txt' }, { pollIntervalMs: 5 })).rejects.toMatchObject({
      message: 'the URL is not an image',
    });
  });

  it('throws SuperresApiError "bad response" for malformed JSON or a body that breaks the contract', async () => {
    const client = createClient({ baseUrl, key: 'k' });
    handler = () => ({ text: '{"status": "success", ' });
    const error = await client.superResolution({ url: 'https://img.test/a.png' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuperresApiError);
    expect(error).toMatchObject({ code: 'E_BAD_RESPONSE', status: 200, body: '{"status": "success", ' });
    expect((error as Error).message).toMatch(/^bad response/);

    handler = () => ({ json: { status: 'success', id: 'x', generationTime: 1 } });
    await expect(client.superResolution({ url: 'https://img.test/a.png' })).rejects.toMatchObject({
      code: 'E_BAD_RESPONSE',
      message: expect.stringMatching(/^bad response: output/),
    });

    handler = () => ({ json: { status: 'weird' } });
    await expect(client.fetch('x')).rejects.toMatchObject({ code: 'E_BAD_RESPONSE' });
  });

  it('without schema validation, sends the request as given and the server answers for it', async () => {
    handler = () => ({ status: 400, json: { status: 'error', message: 'scale: expected a positive number, received 0', code: 'E_INVALID_REQUEST' } });
    const client = createClient({ baseUrl, key: 'k' });
    const error = await client.superResolution({ url: 'https://img.test/a.png', scale: 0 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SuperresApiError', status: 400, message: 'scale: expected a positive number, received 0' });
    expect(requests.map((r) => r.body)).toEqual([{ url: 'https://img.test/a.png', scale: 0, key: 'k' }]);
  });

  it('with schema validation, refuses an invalid request before sending it', async () => {
    const client = createClient({ baseUrl, key: 'k', validation: schemaValidation });
    const error = await client.superResolution({ url: 'https://img.test/a.png', scale: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SuperresValidationError);
    expect((error as Error).message).toBe('scale: expected a positive number, received 0');
    await expect(client.superResolution({ url: 'http://[::1' })).rejects.toMatchObject({ code: 'E_VALIDATION' });
    expect(requests).toHaveLength(0);
  });

  it('reports a network error with status 0', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createClient({ baseUrl: `http://127.0.0.1:${port}`, key: 'k' });
    await expect(client.fetch('x')).rejects.toMatchObject({ name: 'SuperresApiError', code: 'E_NETWORK', status: 0 });
  });
});

describe('the other routes', () => {
  const model = { model_id: 'realesr-general-x4v3', scale: 4, architecture: 'SRVGGNetCompact', description: 'general scenes', installed: true, default: true };

  it('fetch, waitFor and uploadImage', async () => {
    handler = (path, _body, count) => {
      if (path === '/api/v1/enterprise/fetch/j%2F1') return { json: count < 2 ? processing('j/1') : success('j/1') };
      if (path === '/api/v1/enterprise/upload_image') return { json: { status: 'success', output: jobUrl('/outputs/up.png') } };
      return { status: 404, json: { status: 'error', message: 'not found' } };
    };
    const client = createClient({ baseUrl, key: 'k' });
    expect((await client.fetch('j/1')).status).toBe('processing');
    expect(await client.waitFor('j/1', { pollIntervalMs: 5 })).toEqual(success('j/1'));
    expect((await client.uploadImage(new Uint8Array([137, 80, 78, 71]))).output).toBe(jobUrl('/outputs/up.png'));
    expect(requests.at(-1)?.body).toEqual({ key: 'k', image: 'iVBORw==' });
    await client.uploadImage('data:image/png;base64,iVBORw==');
    expect(requests.at(-1)?.body).toEqual({ key: 'k', image: 'data:image/png;base64,iVBORw==' });
    await expect(createClient({ baseUrl, key: 'k', validation: schemaValidation }).uploadImage('%%%')).rejects.toBeInstanceOf(SuperresValidationError);
  });

  it('model management and system routes, with the admin key', async () => {
    handler = (path) => {
      const route = path.replace('/prefix/api/v1/enterprise/', '');
      switch (route) {
        case 'get_all_models':
          return { json: { status: 'success', models: [model] } };
        case 'load_model':
          return { json: { status: 'success', message: 'loaded', model } };
        case 'verify_model':
          return { json: { status: 'success', model_id: model.model_id, verified: true, sha256: 'ab'.repeat(32) } };
        case 'delete_model':
          return { json: { status: 'success', message: 'deleted' } };
        case 'system_details':
          return {
            json: { status: 'success', version: '0.1.0', models: [model], queue: { backend: 'embedded', waiting: 0, active: 1, concurrency: 1 }, storage: 'local' },
          };
        case 'clear_cache':
          return { json: { status: 'success', message: 'cleared', cleared: 3 } };
        default:
          return { status: 404, json: { status: 'error', message: 'not found' } };
      }
    };
    const client = createClient({ baseUrl: `${baseUrl}/prefix`, key: 'user', adminKey: 'admin', validation: schemaValidation });
    expect(await client.getAllModels()).toEqual([model]);
    expect(requests.at(-1)?.body).toEqual({ key: 'user' });
    expect((await client.loadModel({ model_id: 'x', url: 'https://w.test/x.pth', sha256: 'AB'.repeat(32) })).message).toBe('loaded');
    expect(requests.at(-1)?.body).toEqual({ key: 'admin', model_id: 'x', url: 'https://w.test/x.pth', sha256: 'ab'.repeat(32) });
    expect((await client.verifyModel(model.model_id)).verified).toBe(true);
    expect(requests.at(-1)?.body).toEqual({ key: 'admin', model_id: model.model_id });
    expect((await client.deleteModel('x')).message).toBe('deleted');
    expect((await client.systemDetails()).queue.active).toBe(1);
    expect((await client.clearCache()).cleared).toBe(3);
    expect(requests.slice(1).every((r) => (r.body as { key: string }).key === 'admin')).toBe(true);
    await expect(client.loadModel({ model_id: 'x' })).rejects.toBeInstanceOf(SuperresValidationError);
    // Without schema validation the same answers come through, checked by shape.
    const light = createClient({ baseUrl: `${baseUrl}/prefix`, key: 'user', adminKey: 'admin' });
    expect(await light.getAllModels()).toEqual([model]);
    expect((await light.systemDetails()).queue.active).toBe(1);
    expect((await light.verifyModel(model.model_id)).verified).toBe(true);

    // A bare array of models (as the SD API's get_all_models answers) is accepted too.
    handler = () => ({ json: [model] });
    expect(await client.getAllModels()).toEqual([model]);
  });

  it('checks its options', () => {
    expect(() => createClient({ baseUrl: 'ftp://x', key: 'k' })).toThrow(/baseUrl/);
    expect(() => createClient({ baseUrl: 'nope', key: 'k' })).toThrow(/baseUrl/);
    expect(() => createClient({ baseUrl, key: '' })).toThrow(/key/);
  });
});
