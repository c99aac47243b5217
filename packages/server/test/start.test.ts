// Starting the server: what a failed start leaves behind.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startServer } from '../src/index.js';

describe('startServer', () => {
  let dir: string;
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'superres-start-'));
    busy = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    busy?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('takes back the keys it generated when the port is busy, so the next start prints new ones', async () => {
    const env = { SUPERRES_DATA_DIR: join(dir, 'data'), SUPERRES_MODELS_DIR: join(dir, 'models'), SUPERRES_HOST: '127.0.0.1' };
    await expect(startServer(loadConfig({ ...env, SUPERRES_PORT: String(busyPort) }), { logger: false })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(existsSync(join(dir, 'data', 'api-key'))).toBe(false);
    expect(existsSync(join(dir, 'data', 'admin-key'))).toBe(false);
    const server = await startServer(loadConfig({ ...env, SUPERRES_PORT: '0' }), { logger: false });
    try {
      expect(server.generatedKeys.map((k) => k.kind).sort()).toEqual(['admin', 'api']);
      expect(existsSync(join(dir, 'data', 'api-key'))).toBe(true);
    } finally {
      await server.close();
    }
  });
});
