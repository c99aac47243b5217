/**
 * Test support: a real, throw-away `redis-server` (Debian's) on a free loopback port.
 * No persistence (`--save '' --appendonly no`), its own temporary directory, stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The redis-server process id (the only process `stop()` ends). */
  pid: number;
  /** Stops this redis-server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
  /** Stops the process only (SIGTERM: with `persist`, its data is on disk). */
  halt(): Promise<void>;
  /** Starts it again on the same port and directory, after `halt`; resolves once it answers. */
  revive(): Promise<void>;
}

export interface StartRedisOptions {
  /** Path of the redis-server binary; default `SUPERRES_REDIS_SERVER` or `/usr/bin/redis-server`. */
  binary?: string;
  /** How long to wait for the server to answer PING; default 10 s. */
  startTimeoutMs?: number;
  /** Keep data across a halt and revive (append-only file, fsync always). Default false. */
  persist?: boolean;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startOnce(binary: string, startTimeoutMs: number, persist: boolean): Promise<RunningRedis | undefined> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'superres-redis-'));
  const durability = persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  let child: ChildProcess;
  let log = '';

  /** Spawns redis-server; resolves true once it answers, false if it lost the port race. */
  async function launch(): Promise<boolean> {
    log = '';
    child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...durability, '--dir', dir, '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      const failed = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(r, 50, undefined))]);
      if (failed) throw new Error(`redis-server could not be started (${binary}): ${failed.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        if (/Address already in use/i.test(log)) return false;
        throw new Error(`redis-server exited early (code ${child.exitCode}): ${log}`);
      }
      if (await ping(port)) return true;
    }
    await halt();
    throw new Error(`redis-server did not answer PING on port ${port} within ${startTimeoutMs} ms: ${log}`);
  }

  async function halt(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      }, 5000);
      await exited(child);
      clearTimeout(timer);
    }
  }

  let started: boolean;
  try {
    started = await launch();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  if (!started) {
    await rm(dir, { recursive: true, force: true });
    return undefined; // lost the port race: try another
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid!;
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
    halt,
    async revive() {
      if (!(await launch())) throw new Error(`redis-server: port ${port} was taken while it was halted`);
    },
  };
}

/** Starts a private redis-server on 127.0.0.1 and a free port. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RunningRedis> {
  const binary = options.binary ?? process.env['SUPERRES_REDIS_SERVER'] ?? '/usr/bin/redis-server';
  for (let attempt = 0; attempt < 5; attempt++) {
    const running = await startOnce(binary, options.startTimeoutMs ?? 10_000, options.persist ?? false);
    if (running) return running;
  }
  throw new Error('redis-server: no free port after 5 attempts');
}
