import { describe, expect, it } from 'vitest';
import { formatByteSize, parseByteSize } from './byte-size.js';
import { InvalidOptionError } from './errors.js';

describe('parseByteSize', () => {
  it('reads bytes, binary and decimal units', () => {
    expect(parseByteSize('268435456')).toBe(268435456);
    expect(parseByteSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('300MB')).toBe(300_000_000);
    expect(parseByteSize(' 1.5g ')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('64k')).toBe(65536);
  });

  it('refuses what is not a size, naming the option', () => {
    for (const bad of ['', 'lots', '-5M', '0', '1.5.2G', '12 parsecs', '1e9']) {
      const error = (() => {
        try {
          parseByteSize(bad, '--max-memory');
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain('--max-memory');
    }
  });
});

describe('formatByteSize', () => {
  it('writes binary units', () => {
    expect(formatByteSize(256 * 1024 ** 2)).toBe('256 MiB');
    expect(formatByteSize(1536)).toBe('1.5 KiB');
    expect(formatByteSize(12)).toBe('12 B');
  });
});
