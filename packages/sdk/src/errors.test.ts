import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorClasses, importMinified } from '../../../test-support/minified-module.js';
import * as source from './errors.js';

/** errors.ts bundled and minified as an application's bundler would, then imported. */
const minified = () => importMinified(fileURLToPath(new URL('./errors.ts', import.meta.url)));

describe('client error names', () => {
  it('survive minification, with codes and instanceof', async () => {
    const min = await minified();
    const names = errorClasses(source).map(([name]) => name).sort();
    expect(errorClasses(min).map(([name]) => name).sort()).toEqual(names);
    const Api = min.SuperresApiError as typeof source.SuperresApiError;
    const Timeout = min.SuperresTimeoutError as typeof source.SuperresTimeoutError;
    const Validation = min.SuperresValidationError as typeof source.SuperresValidationError;
    const api = new Api('no', { status: 500 });
    expect([api.name, api.code, api.status]).toEqual(['SuperresApiError', 'E_API', 500]);
    expect(api).toBeInstanceOf(Api);
    // As AbortSignal.timeout() names its error.
    expect([new Timeout(5).name, new Timeout(5).code]).toEqual(['TimeoutError', 'E_TIMEOUT']);
    expect([new Validation('bad', []).name, new Validation('bad', []).code]).toEqual(['SuperresValidationError', 'E_VALIDATION']);
  });
});
