// The tests' own network guard (set up for every test file by vitest.config.ts).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

/** Connects and reports the error code, or 'connected'. */
function dial(options: net.NetConnectOpts): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('the tests\' loopback-only network guard', () => {
  it('lets loopback through, by address and by name', async () => {
    const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
      expect(await dial({ host: 'localhost', port, family: 4 })).toBe('connected');
    } finally {
      server.close();
    }
  });

  it('refuses any other address before dialling, whatever resolves it', async () => {
    expect(await dial({ host: '192.0.2.1', port: 80 })).toBe('E_TEST_NON_LOOPBACK');
    expect(await dial({ host: '10.0.0.1', port: 80 })).toBe('E_TEST_NON_LOOPBACK');
    expect(await dial({ host: '2001:db8::1', port: 80 })).toBe('E_TEST_NON_LOOPBACK');
    // A name whose lookup (the caller's own, as the server's pinned lookup is) answers a public address.
    const publicLookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
      options.all ? callback(null, [{ address: '203.0.113.9', family: 4 }]) : callback(null, '203.0.113.9', 4)) as unknown as net.LookupFunction;
    expect(await dial({ host: 'images.example', port: 80, lookup: publicLookup })).toBe('E_TEST_NON_LOOPBACK');
    expect(await dial({ host: 'images.example', port: 80, lookup: publicLookup, autoSelectFamily: true })).toBe('E_TEST_NON_LOOPBACK');
    const refused = await fetch('http://192.0.2.1:8080/a.png').catch((error: { cause?: { code?: string } }) => error.cause?.code);
    expect(refused).toBe('E_TEST_NON_LOOPBACK');
  });

  it('is installed in the Node processes tests start', () => {
    const child = spawnSync(process.execPath, ['-e', "require('node:net').connect(80, '192.0.2.1').on('error', (e) => console.log(e.code))"], {
      encoding: 'utf8',
    });
    expect(child.stdout.trim()).toBe('E_TEST_NON_LOOPBACK');
  });
});
