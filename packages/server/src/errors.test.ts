import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorClasses, importMinified } from '../../../test-support/minified-module.js';
import * as source from './errors.js';

/** errors.ts bundled and minified as an application's bundler would, then imported. */
const minified = () => importMinified(fileURLToPath(new URL('./errors.ts', import.meta.url)));

describe('server error names', () => {
  it('survive minification, with codes and instanceof', async () => {
    const min = await minified();
    expect(errorClasses(min).map(([name]) => name).sort()).toEqual(['RateLimitedError', 'ServerError', 'ServiceUnavailableError']);
    const Server = min.ServerError as typeof source.ServerError;
    const RateLimited = min.RateLimitedError as typeof source.RateLimitedError;
    expect(Server.name).not.toBe('ServerError'); // renamed by the minifier
    const limited = new RateLimited('slow down', 3);
    expect([limited.name, limited.code, limited.retryAfter]).toEqual(['RateLimitedError', 'E_RATE_LIMITED', 3]);
    expect(limited).toBeInstanceOf(Server);
    const server = new Server('E_NOT_FOUND', 'gone');
    expect([server.name, server.code]).toEqual(['ServerError', 'E_NOT_FOUND']);
    const Unavailable = min.ServiceUnavailableError as typeof source.ServiceUnavailableError;
    const unavailable = new Unavailable('cannot record jobs', 30);
    expect([unavailable.name, unavailable.code, unavailable.retryAfter]).toEqual(['ServiceUnavailableError', 'E_SERVICE_UNAVAILABLE', 30]);
    expect(unavailable).toBeInstanceOf(Server);
    expect(new source.RateLimitedError('x', 1).name).toBe('RateLimitedError');
  });
});
