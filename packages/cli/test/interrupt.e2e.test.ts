// The built binary as a child process: Ctrl-C and SIGTERM mid-inference, progress on a pipe and
// on a terminal. Every wait is for a state (a progress line, the exit), never for a time.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, needsFixture, repoRoot } from '../../../test-support/fixtures.js';

const bin = join(repoRoot, 'packages/cli/dist/bin.js');
const weights = needsFixture('superres upscale, interrupted and watched', 'weights', 'realesr-animevideov3.pth');
const built = existsSync(bin);
const title = built ? weights.title : `${weights.title} (skipped: ${bin} not built; run pnpm build)`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'superres-cli-signal-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

/** Starts an upscale of OST_009 in many small tiles; `onStderr` sees stderr as it grows. */
function upscaleChild(outDir: string, extra: string[], onStderr?: (text: string, kill: (s: NodeJS.Signals) => void) => void) {
  const child = spawn(
    process.execPath,
    [bin, 'upscale', fixture('images', 'realesrgan', 'OST_009.png'), '-o', join(outDir, 'out.png'), '--model', fixture('weights', 'realesr-animevideov3.pth'), ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, (s) => child.kill(s));
  });
  return new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr, stdout })));
}

describe.skipIf(weights.missing || !built)(title, () => {
  for (const [name, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${name} mid-inference exits ${code} and leaves no output or temporary file`, async () => {
      const out = await mkdtemp(join(dir, `${name}-`));
      let sent = false;
      // 280 tiles of 32 px: the signal lands while tiles are still running.
      const done = await upscaleChild(out, ['--tile', '32'], (text, kill) => {
        if (!sent && text.includes('tile 3/')) {
          sent = true;
          kill(name);
        }
      });
      expect(sent, done.stderr).toBe(true);
      expect({ code: done.code, signal: done.signal }).toEqual({ code, signal: null });
      expect(done.stderr).toContain(`interrupted (${name})`);
      expect(done.stderr).not.toMatch(/tile 280\/280/);
      expect(await readdir(out)).toEqual([]);
    });
  }

  it('SIGINT in the second image of a batch: exit 130, the first output whole, nothing else written', async () => {
    const out = await mkdtemp(join(dir, 'batch-'));
    const inputs = [fixture('images', 'set5', 'LRx4', 'baby.png'), fixture('images', 'realesrgan', 'OST_009.png')];
    const child = spawn(process.execPath, [bin, 'upscale', ...inputs, '-o', out, '--model', fixture('weights', 'realesr-animevideov3.pth'), '--tile', '32'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The second image ([2/2]) is running its tiles: interrupt it.
      if (!sent && /\[2\/2\] OST_009\.png: tile 3\//.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(sent, stderr).toBe(true);
    expect(code).toBe(130);
    expect(await readdir(out)).toEqual(['baby.png']);
    expect((await sharp(join(out, 'baby.png')).metadata()).width).toBe(504);
  });

  it('writes a plain progress line per tile, with an ETA, when stderr is not a terminal', async () => {
    const out = await mkdtemp(join(dir, 'lines-'));
    const done = await upscaleChild(out, ['--tile', '160']);
    expect(done.code, done.stderr).toBe(0);
    const lines = done.stderr.split('\n').filter((l) => l.includes('tile '));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^OST_009\.png: tile 1\/12 \(8%\), \d+s elapsed, ETA \d+s$/);
    expect(lines[11]).toMatch(/tile 12\/12 \(100%\).*ETA 0s$/);
    expect(done.stderr).not.toContain('\r');
    const meta = await sharp(join(out, 'out.png')).metadata();
    expect([meta.width, meta.height]).toEqual([1792, 2560]);
  });

  it.skipIf(!existsSync('/usr/bin/script'))('redraws one progress bar in place on a terminal', async () => {
    const out = await mkdtemp(join(dir, 'tty-'));
    // util-linux `script` runs the command on a pseudo-terminal and copies what it writes.
    const command = [process.execPath, bin, 'upscale', fixture('images', 'set5', 'LRx4', 'baby.png'), '-o', join(out, 'out.png'), '--model', fixture('weights', 'realesr-animevideov3.pth'), '--tile', '32']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, text).toBe(0);
    const frames = text.split('\r\u001b[2K').slice(1);
    expect(frames.length).toBe(16);
    expect(frames[0]).toMatch(/^baby\.png \[[#-]{24}\] 6% tile 1\/16/);
    expect(frames[15]).toMatch(/^baby\.png \[#{24}\] 100% tile 16\/16, \d+s elapsed, ETA 0s\r?\n/);
    // No plain progress lines on a terminal: each tile redraws the same line.
    expect(text).not.toContain('baby.png: tile');
  });
});
