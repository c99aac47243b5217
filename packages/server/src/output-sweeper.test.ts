import { describe, expect, it } from 'vitest';
import type { ClearOptions } from './contracts.js';
import { startOutputSweeper } from './output-sweeper.js';

const quiet = { info: () => undefined, warn: () => undefined };

describe('startOutputSweeper', () => {
  it('sweeps at start and on a timer with the TTL, and stops', async () => {
    const calls: ClearOptions[] = [];
    const sweeper = startOutputSweeper({ clear: async (o) => (calls.push(o ?? {}), 0) }, 2000, quiet);
    for (let i = 0; i < 200 && calls.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await sweeper.stop();
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.every((c) => c.olderThanMs === 2000)).toBe(true);
  });

  it('never deletes with a TTL of 0, and survives a failing storage', async () => {
    let calls = 0;
    const off = startOutputSweeper({ clear: async () => ++calls }, 0, quiet);
    expect(await off.sweep()).toBe(0);
    await off.stop();
    expect(calls).toBe(0);
    const warned: unknown[] = [];
    const failing = startOutputSweeper({ clear: () => Promise.reject(new Error('S3 down')) }, 60_000, { ...quiet, warn: (o) => warned.push(o) });
    expect(await failing.sweep()).toBe(0);
    await failing.stop();
    expect(warned.length).toBeGreaterThan(0);
  });
});
