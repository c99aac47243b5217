// A real HTTP server on 127.0.0.1 standing in for GitHub's release downloads in tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface ModelServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** Path -> handler; unknown paths answer 404. */
  readonly routes: Map<string, Handler>;
  /** Every requested path, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startModelServer(): Promise<ModelServer> {
  const routes = new Map<string, Handler>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const handler = routes.get(path);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    routes,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers 200 with the bytes, in chunks, waiting `beforeBody` (if given) between head and body. */
export function serveBytes(bytes: Uint8Array, options: { chunk?: number; beforeBody?: () => Promise<void> } = {}): Handler {
  const chunk = options.chunk ?? 64 * 1024;
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
    await options.beforeBody?.();
    for (let at = 0; at < bytes.length; at += chunk) {
      if (!res.write(bytes.subarray(at, at + chunk))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };
}

/** Announces the full length, sends the first `sent` bytes, then drops the connection. */
export function serveTruncated(bytes: Uint8Array, sent: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, sent), () => setTimeout(() => res.socket?.destroy(), 20));
  };
}

export function redirectTo(location: string, status = 302): Handler {
  return (_req, res) => void res.writeHead(status, { location }).end();
}

/** Never answers (until the server closes). */
export const hang: Handler = () => undefined;

/** Resolves when `count` callers have arrived (or after `timeoutMs`, so a test cannot hang). */
export function barrier(count: number, timeoutMs = 10_000): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const timer = setTimeout(() => open(), timeoutMs);
  return () => {
    arrived++;
    if (arrived >= count) {
      clearTimeout(timer);
      open();
    }
    return opened;
  };
}
