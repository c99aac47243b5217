import { describe, expect, it } from 'vitest';
import { ErrorCode, SuperresError } from '@superres/core';
import { HTTP_STATUS_BY_CODE, errorCodeOf, errorToHttp, statusForCode } from './errors-http.js';
import { errorFields } from './queue/common.js';
import { RateLimitedError, ServerError, ServiceUnavailableError } from './errors.js';

describe('the error table', () => {
  it('has a status for every library code (the type makes it so; this holds it for JavaScript callers too)', () => {
    for (const code of Object.values(ErrorCode)) expect(HTTP_STATUS_BY_CODE[code], code).toBeGreaterThanOrEqual(400);
  });

  it('maps classes, duck-typed errors and unknown codes in one way, for answers and for job records alike', () => {
    expect(errorToHttp(new SuperresError('E_BAD_IMAGE', 'not an image'))).toEqual({ statusCode: 422, body: { status: 'error', message: 'not an image', code: 'E_BAD_IMAGE' } });
    expect(errorCodeOf(new ServerError('E_NOT_FOUND', 'gone'))).toBe('E_NOT_FOUND');
    // Another copy of core (or an error that crossed a process boundary) is known by its code.
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'E_CHECKSUM' }))).toBe('E_CHECKSUM');
    // A code nobody maps is internal: a 500 with a generic message, recorded as E_INTERNAL.
    const unknown = Object.assign(new Error('secret path /srv/x'), { code: 'E_MADE_UP' });
    expect(errorToHttp(unknown)).toEqual({ statusCode: 500, body: { status: 'error', message: 'Internal server error' } });
    expect(errorFields(unknown).errorCode).toBe('E_INTERNAL');
    expect(errorFields(new SuperresError('E_BAD_IMAGE', 'not an image'))).toEqual({ error: 'not an image', errorCode: 'E_BAD_IMAGE' });
    expect(statusForCode('E_MADE_UP')).toBe(500);
    expect(statusForCode('toString')).toBe(500);
  });

  it('carries retry_after in the body of a 429 and of a 503 alike', () => {
    expect(errorToHttp(new RateLimitedError('slow down', 12))).toEqual({ statusCode: 429, body: { status: 'error', message: 'slow down', code: 'E_RATE_LIMITED', retry_after: 12 } });
    expect(errorToHttp(new ServiceUnavailableError('cannot record jobs', 30))).toEqual({
      statusCode: 503,
      body: { status: 'error', message: 'cannot record jobs', code: 'E_SERVICE_UNAVAILABLE', retry_after: 30 },
    });
    expect(new ServiceUnavailableError('x', 30)).toMatchObject({ name: 'ServiceUnavailableError', code: 'E_SERVICE_UNAVAILABLE', details: { retry_after: 30 } });
  });
});
