// The server's logs: JSON lines at SUPERRES_LOG_LEVEL (or LOG_LEVEL), the request id honoured from
// x-request-id and echoed, job ids on job lines, and no query string (signed URLs, tokens) anywhere.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startServer, type RunningServer } from '../src/index.js';

const KEY = 'log-key';
let dir: string;
let files: Server;
let filesUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-logs-'));
  // Answers 404 to everything: a job fails at its download, quickly, without a model.
  files = createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
afterAll(async () => {
  files?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function serverLogging(env: Record<string, string>): Promise<{ server: RunningServer; lines: () => Record<string, unknown>[] }> {
  let text = '';
  const server = await startServer(
    loadConfig({
      SUPERRES_PORT: '0',
      SUPERRES_DATA_DIR: join(dir, `data-${Math.random().toString(36).slice(2)}`),
      SUPERRES_MODELS_DIR: join(dir, 'models'),
      SUPERRES_API_KEYS: KEY,
      SUPERRES_ADMIN_KEYS: 'log-admin',
      SUPERRES_ALLOW_PRIVATE_URLS: 'true',
      SUPERRES_SYNC_WAIT_MS: '30000',
      ...env,
    }),
    { logStream: { write: (line: string) => void (text += line) } },
  );
  return { server, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('server logs', () => {
  it('JSON lines; x-request-id honoured and echoed (ours when absent or unsafe); job ids on job lines; no query strings', async () => {
    const { server, lines } = await serverLogging({});
    try {
      const answer = await fetch(`${server.url}/api/v1/enterprise/super_resolution?token=s3cret`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'client-req-42' },
        body: JSON.stringify({ key: KEY, url: `${filesUrl}/photo.png?X-Amz-Signature=s3cret`, model_id: 'realesr-animevideov3' }),
      });
      expect(answer.headers.get('x-request-id')).toBe('client-req-42');
      const body = (await answer.json()) as { status: string; id: string };
      expect(body.status).toBe('error');
      const ours = await fetch(`${server.url}/healthz`);
      expect(ours.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const unsafe = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

      const logged = lines();
      expect(logged.length).toBeGreaterThan(3);
      expect(logged.some((l) => l.requestId === 'client-req-42')).toBe(true);
      const jobLines = logged.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('job '));
      expect(jobLines.map((l) => l.msg)).toEqual(expect.arrayContaining(['job queued', 'job started', 'job finished']));
      for (const line of jobLines) expect(line.jobId).toBe(body.id);
      const all = JSON.stringify(logged);
      expect(all).not.toContain('s3cret');
      expect(all).not.toContain(KEY);
    } finally {
      await server.close();
    }
  });

  it('LOG_LEVEL (or SUPERRES_LOG_LEVEL) leaves out the lines below it; a bad level is refused by name', async () => {
    const { server, lines } = await serverLogging({ LOG_LEVEL: 'warn' });
    try {
      await fetch(`${server.url}/healthz`);
      expect(lines().filter((l) => (l.level as number) < 40)).toEqual([]);
    } finally {
      await server.close();
    }
    expect(() => loadConfig({ SUPERRES_LOG_LEVEL: 'loud' })).toThrow(/SUPERRES_LOG_LEVEL/);
    expect(loadConfig({ LOG_LEVEL: 'debug', SUPERRES_LOG_LEVEL: 'error' }).logLevel).toBe('error');
  });
});
