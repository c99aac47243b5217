import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, BadImageError, DownloadError, ImageTooLargeError, InvalidOptionError } from '@superres/core';
import { UrlRefusedError } from './errors.js';
import { fetchImageBytes, safeFetch, sniffImageType } from './safe-fetch.js';
import { PNG_BYTES, startServer, type TestServer } from './test-support/server.js';

const base = { maxBytes: 1024 * 1024, timeoutMs: 5000 };
const open = { ...base, allowPrivate: true };
const guarded = { ...base, allowPrivate: false };

let server: TestServer;
let hits: Record<string, number> = {};
let lastRequest: { method?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};

const routes: Record<string, http.RequestListener> = {
  '/hello': (_req, res) => {
    res.setHeader('x-test', 'yes');
    res.end('hello');
  },
  '/image.png': (_req, res) => {
    res.setHeader('content-type', 'image/png');
    res.end(PNG_BYTES);
  },
  '/html': (_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<html>not an image</html>');
  },
  '/missing': (_req, res) => {
    res.statusCode = 404;
    res.end('nope');
  },
  '/redirect-hello': (_req, res) => {
    res.writeHead(302, { location: '/hello' });
    res.end();
  },
  '/redirect-absolute': (_req, res) => {
    res.writeHead(301, { location: `${server.url}/image.png` });
    res.end();
  },
  '/redirect-metadata': (_req, res) => {
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
    res.end();
  },
  '/redirect-file': (_req, res) => {
    res.writeHead(302, { location: 'file:///etc/passwd' });
    res.end();
  },
  '/redirect-ftp': (_req, res) => {
    res.writeHead(307, { location: 'ftp://127.0.0.1/x.png' });
    res.end();
  },
  '/redirect-mapped-metadata': (_req, res) => {
    res.writeHead(302, { location: 'http://[::ffff:169.254.169.254]/' });
    res.end();
  },
  '/loop': (_req, res) => {
    res.writeHead(302, { location: '/loop' });
    res.end();
  },
  '/big-declared': (_req, res) => {
    res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
    // Sends a little and then nothing: the client must give up on Content-Length alone.
    res.write(Buffer.alloc(1024));
  },
  '/big-chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const tick = (): void => {
      if (res.destroyed || sent >= 50 * 1024 * 1024) {
        res.end();
        return;
      }
      sent += 64 * 1024;
      res.write(Buffer.alloc(64 * 1024), () => setImmediate(tick));
    };
    tick();
  },
  '/slow-headers': () => {
    // Never answers.
  },
  '/slow-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.write(PNG_BYTES.subarray(0, 4));
    // ... and the rest never comes.
  },
  '/echo': (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastRequest = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.statusCode = 418;
      res.end('teapot');
    });
  },
  '/post-redirect-307': (req, res) => {
    req.resume();
    res.writeHead(307, { location: '/echo' });
    res.end();
  },
  '/post-redirect-303': (req, res) => {
    req.resume();
    res.writeHead(303, { location: '/echo' });
    res.end();
  },
};

beforeAll(async () => {
  server = await startServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits[path] = (hits[path] ?? 0) + 1;
    const route = routes[path];
    if (route) route(req, res);
    else {
      res.statusCode = 500;
      res.end('no route');
    }
  });
});
afterAll(async () => {
  await server.close();
});

describe('safeFetch: the address guard', () => {
  it('refuses loopback by default', async () => {
    hits = {};
    const error = await safeFetch(`${server.url}/hello`, guarded).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UrlRefusedError);
    expect((error as UrlRefusedError).code).toBe('E_URL_REFUSED');
    expect(hits['/hello']).toBeUndefined();
  });

  it('allows loopback with allowPrivate', async () => {
    const res = await safeFetch(`${server.url}/hello?x=1`, open);
    expect(res.status).toBe(200);
    expect(Buffer.from(res.body).toString()).toBe('hello');
    expect(res.headers['x-test']).toBe('yes');
    expect(res.finalUrl).toBe(`${server.url}/hello?x=1`);
  });

  it('refuses a hostname that resolves to loopback', async () => {
    const refused = await safeFetch(`http://localhost:${server.port}/hello`, guarded).catch((e: unknown) => e as Error);
    expect(refused).toMatchObject({ code: 'E_URL_REFUSED', message: expect.stringMatching(/"localhost" resolves to an address that is private/) });
    // What the name resolved to is not told to the client (only kept in details, for logs).
    expect((refused as Error).message).not.toMatch(/127\.0\.0\.1|::1/);
  });

  it('connects to a hostname with allowPrivate, keeping the hostname as Host', async () => {
    const res = await safeFetch(`http://localhost:${server.port}/echo`, { ...open, method: 'POST', body: 'x' }).catch(
      (e: unknown) => e,
    );
    // localhost may resolve to ::1 first where the server only listens on 127.0.0.1; either
    // the exchange happened with the right Host, or the connection was refused (not the guard).
    if (res instanceof Error) expect(res).toBeInstanceOf(DownloadError);
    else expect(lastRequest.headers?.host).toBe(`localhost:${server.port}`);
  });

  it.each([
    ['http://[::1]/', 'IPv6 loopback'],
    ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
    ['http://0x7f.1/', 'hex loopback'],
    ['http://2130706433/', 'decimal loopback'],
    ['http://10.0.0.1/', 'RFC 1918'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
  ])('refuses %s (%s)', async (url) => {
    await expect(safeFetch(url, guarded)).rejects.toBeInstanceOf(UrlRefusedError);
  });

  it('refuses the cloud metadata address even with allowPrivate', async () => {
    await expect(safeFetch('http://169.254.169.254/', open)).rejects.toBeInstanceOf(UrlRefusedError);
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/x.png', 'gopher://127.0.0.1/', 'data:image/png;base64,AAAA', 'javascript:alert(1)'])(
    'refuses the scheme of %s',
    async (url) => {
      await expect(safeFetch(url, open)).rejects.toThrow(UrlRefusedError);
    },
  );

  it('refuses credentials in the URL', async () => {
    await expect(safeFetch(`http://user:pw@127.0.0.1:${server.port}/hello`, open)).rejects.toThrow(/credentials/);
  });

  it('rejects a URL that is not one', async () => {
    await expect(safeFetch('not a url', open)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('safeFetch: redirects', () => {
  it('follows relative and absolute redirects', async () => {
    const a = await safeFetch(`${server.url}/redirect-hello`, open);
    expect(Buffer.from(a.body).toString()).toBe('hello');
    expect(a.finalUrl).toBe(`${server.url}/hello`);
    const b = await fetchImageBytes(`${server.url}/redirect-absolute`, open);
    expect(Buffer.from(b).equals(PNG_BYTES)).toBe(true);
  });

  it.each(['/redirect-metadata', '/redirect-mapped-metadata', '/redirect-file', '/redirect-ftp'])(
    'checks every hop again: %s is refused',
    async (path) => {
      await expect(safeFetch(`${server.url}${path}`, open)).rejects.toBeInstanceOf(UrlRefusedError);
    },
  );

  it('stops after maxRedirects', async () => {
    hits = {};
    const error = await safeFetch(`${server.url}/loop`, { ...open, maxRedirects: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/Too many redirects/);
    expect(hits['/loop']).toBe(4);
  });

  it('defaults to 5 redirects', async () => {
    hits = {};
    await expect(safeFetch(`${server.url}/loop`, open)).rejects.toThrow(/more than 5/);
    expect(hits['/loop']).toBe(6);
  });

  it('keeps POST and its body on 307, switches to GET on 303', async () => {
    const a = await safeFetch(`${server.url}/post-redirect-307`, { ...open, method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(a.status).toBe(418);
    expect(lastRequest).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(lastRequest.headers?.['content-type']).toBe('application/json');
    const b = await safeFetch(`${server.url}/post-redirect-303`, { ...open, method: 'POST', body: '{"a":1}' }).catch((e: unknown) => e);
    // After a 303 it is a GET, and a GET answered 418 is an error.
    expect(b).toBeInstanceOf(DownloadError);
    expect(lastRequest).toMatchObject({ method: 'GET', body: '' });
  });
});

describe('safeFetch: limits and failures', () => {
  it('fails early on a Content-Length over maxBytes', async () => {
    const started = Date.now();
    const error = await safeFetch(`${server.url}/big-declared`, { ...open, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect((error as Error).message).toMatch(/10485760 bytes, over the limit of 1000 bytes/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops streaming a chunked body past maxBytes', async () => {
    const error = await safeFetch(`${server.url}/big-chunked`, { ...open, maxBytes: 200_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect((error as Error).message).toMatch(/more than the limit of 200000 bytes/);
  });

  it('truncates instead when asked', async () => {
    const res = await safeFetch(`${server.url}/big-chunked`, { ...open, maxBytes: 100_000, truncateBody: true });
    expect(res.body.length).toBe(100_000);
  });

  it('times out on a server that never answers', async () => {
    const started = Date.now();
    const error = await safeFetch(`${server.url}/slow-headers`, { ...open, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out on a body that never ends', async () => {
    await expect(safeFetch(`${server.url}/slow-body`, { ...open, timeoutMs: 300 })).rejects.toThrow(/timed out/);
  });

  it('names the status of a failed GET', async () => {
    const error = await safeFetch(`${server.url}/missing`, open).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).code).toBe('E_DOWNLOAD');
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect((error as DownloadError).details.status).toBe(404);
  });

  it('returns a POST answer of any status', async () => {
    const res = await safeFetch(`${server.url}/echo`, { ...open, method: 'POST', body: new TextEncoder().encode('abc') });
    expect(res.status).toBe(418);
    expect(lastRequest).toMatchObject({ method: 'POST', body: 'abc' });
    expect(lastRequest.headers?.['content-length']).toBe('3');
  });

  it('reports a refused connection as a DownloadError', async () => {
    const gone = await startServer((_req, res) => res.end());
    await gone.close();
    await expect(safeFetch(`${gone.url}/`, open)).rejects.toBeInstanceOf(DownloadError);
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(safeFetch(`${server.url}/slow-headers`, { ...open, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    await expect(safeFetch(`${server.url}/hello`, { ...open, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('validates its limits', async () => {
    await expect(safeFetch(`${server.url}/hello`, { ...open, timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(safeFetch(`${server.url}/hello`, { ...open, maxBytes: Number.NaN })).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('fetchImageBytes', () => {
  it('returns image bytes', async () => {
    const bytes = await fetchImageBytes(`${server.url}/image.png`, open);
    expect(Buffer.from(bytes).equals(PNG_BYTES)).toBe(true);
  });

  it('refuses a body that is not an image', async () => {
    const error = await fetchImageBytes(`${server.url}/html`, open).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadImageError);
    expect((error as Error).message).toBe('URL did not return an image');
  });

  it('passes on a 404 as DownloadError', async () => {
    await expect(fetchImageBytes(`${server.url}/missing`, open)).rejects.toBeInstanceOf(DownloadError);
  });
});

describe('sniffImageType', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  it.each([
    ['png', PNG_BYTES],
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')],
    ['webp', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')],
    ['gif', bytes('GIF89a', [1, 0, 1, 0])],
    ['gif', bytes('GIF87a', [1, 0, 1, 0])],
    ['tiff', bytes('II*\0', [8, 0, 0, 0])],
    ['tiff', bytes('MM\0*', [0, 0, 0, 8])],
    ['bmp', bytes('BM', new Array<number>(30).fill(0))],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf')],
    ['avif', bytes([0, 0, 0, 0x1c], 'ftypmif1', [0, 0, 0, 0], 'mif1avifmiaf')],
    ['heif', bytes([0, 0, 0, 0x18], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
  ])('%s', (type, data) => {
    expect(sniffImageType(data)).toBe(type);
  });
  it.each([
    ['empty', bytes()],
    ['html', bytes('<html>')],
    ['mp4', bytes([0, 0, 0, 0x18], 'ftypisom', [0, 0, 0, 0], 'isomiso2')],
    ['riff wave', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ')],
  ])('not %s', (_name, data) => {
    expect(sniffImageType(data)).toBeUndefined();
  });
});
