/**
 * A real S3-compatible server for tests: s3rver (from npm) storing on disk in a temporary
 * directory, listening on 127.0.0.1 on a free port, with one bucket, silent.
 *
 * It runs in a child Node process started with `--openssl-legacy-provider`: s3rver encrypts
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17) refuses otherwise, so
 * in-process every truncated listing (more than 1000 keys) answers 500. A child process also keeps
 * the test runner's own Node flags (vitest's `--conditions`) away from it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RunningS3rver {
  /** `http://127.0.0.1:<port>`; use `forcePathStyle: true`. */
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver's fixed credentials (it checks the access key id; v4 signatures are not verified). */
  accessKeyId: 'S3RVER';
  secretAccessKey: 'S3RVER';
  /** The directory s3rver stores into (removed by stop). */
  directory: string;
  stop(): Promise<void>;
  /** Stops the server only (its objects stay in `directory`): S3 is down. */
  halt(): Promise<void>;
  /** Starts it again on the same port and directory, after `halt`. */
  revive(): Promise<void>;
}

// Runs in the child: start s3rver, report the port on stdout, stop on SIGTERM or when stdin closes.
const CHILD = `
const S3rver = require(process.env.S3RVER_MAIN);
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(process.env.S3RVER_PORT || 0),
  silent: true,
  directory: process.env.S3RVER_DIR,
  vhostBuckets: false,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.silent = true;
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
`;

async function readPort(child: ChildProcess): Promise<number> {
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 30 s${err ? `: ${err}` : ''}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before listening${err ? `: ${err}` : ''}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export async function startS3rver(options: { bucket?: string } = {}): Promise<RunningS3rver> {
  const bucket = options.bucket ?? 'superres-test';
  const directory = await mkdtemp(path.join(tmpdir(), 'superres-s3rver-'));
  const main = createRequire(import.meta.url).resolve('s3rver');
  let child: ChildProcess;
  const launch = async (wanted: number): Promise<number> => {
    child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
      env: { PATH: process.env.PATH ?? '', S3RVER_MAIN: main, S3RVER_DIR: directory, S3RVER_BUCKET: bucket, S3RVER_PORT: String(wanted) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      return await readPort(child);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  };
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  let port: number;
  try {
    port = await launch(0);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    stop() {
      stopping ??= (async () => {
        await halt();
        await rm(directory, { recursive: true, force: true });
      })();
      return stopping;
    },
    halt,
    async revive() {
      await launch(port);
    },
  };
}
