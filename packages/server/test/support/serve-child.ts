// The built CLI's `superres serve` as a child process, for tests of the real server: resolves
// with its URL once its JSON log says it listens, rejects if it exits first. Loopback only (the
// CLI's default host).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../../../test-support/fixtures.js';

export const cliBin = join(repoRoot, 'packages', 'cli', 'dist', 'bin.js');

export interface ServeChild {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  base: string;
}

export function spawnServe(env: Record<string, string>): Promise<ServeChild> {
  const child = spawn(process.execPath, [cliBin, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        const entry = line.startsWith('{') ? (JSON.parse(line) as { msg?: string; url?: string }) : undefined;
        if (entry?.msg === 'superres server listening' && entry.url) resolve({ child, base: entry.url });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}${out}`)));
  });
}
