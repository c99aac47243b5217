import { describe, expect, it } from 'vitest';
import type { Storage } from './contracts.js';
import { putWithRetry } from './process-job.js';

/** A storage whose first `failures` writes fail. */
function flaky(failures: number): Storage & { calls: number } {
  const storage = {
    calls: 0,
    async put(key: string) {
      storage.calls++;
      if (storage.calls <= failures) throw Object.assign(new Error('S3 away'), { code: 'E_STORAGE' });
      return { key, url: `http://h/${key}` };
    },
    clear: async () => 0,
  };
  return storage;
}

describe('putWithRetry', () => {
  it('stores an output through a short outage', async () => {
    const storage = flaky(2);
    await expect(putWithRetry(storage, 'k.png', new Uint8Array(1), undefined, [1, 1, 1])).resolves.toEqual({ key: 'k.png', url: 'http://h/k.png' });
    expect(storage.calls).toBe(3);
  });

  it('gives up after the last retry with the storage error, and at once when aborted', async () => {
    const storage = flaky(100);
    await expect(putWithRetry(storage, 'k.png', new Uint8Array(1), undefined, [1, 1, 1])).rejects.toMatchObject({ code: 'E_STORAGE' });
    expect(storage.calls).toBe(4);
    const aborted = flaky(100);
    await expect(putWithRetry(aborted, 'k.png', new Uint8Array(1), AbortSignal.abort(), [1, 1, 1])).rejects.toThrow(/S3 away/);
    expect(aborted.calls).toBe(1);
  });
});
