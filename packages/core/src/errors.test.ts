import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorClasses, importMinified, type ErrorClass } from '../../../test-support/minified-module.js';
import * as source from './index.js';
import { BackendError, ErrorCode, SuperresError, superresErrorFromCode } from './errors.js';

/** One instance of an exported error class: SuperresError takes a code first, the others a message. */
function instance(name: string, Class: ErrorClass): Error & { code?: string } {
  return name === 'SuperresError' ? new Class(ErrorCode.Backend, 'x') : new Class('x');
}

/** packages/core/src/index.ts bundled and minified as an application's bundler would, then imported. */
const minifiedCore = () => importMinified(fileURLToPath(new URL('./index.ts', import.meta.url)));

describe('error names', () => {
  it('every exported error class names itself, codes unchanged', () => {
    const classes = errorClasses(source);
    expect(classes.length).toBe(16); // SuperresError and its 15 subclasses
    for (const [name, Class] of classes) {
      const error = instance(name, Class);
      expect(error.name, name).toBe(name);
      expect(error).toBeInstanceOf(SuperresError);
      expect(error).toBeInstanceOf(Class);
    }
    expect(new BackendError('x').code).toBe('E_BACKEND');
    expect(superresErrorFromCode('E_CHECKSUM', 'x').name).toBe('ChecksumError');
    expect(String(new BackendError('broken'))).toBe('BackendError: broken');
  });

  it('survive minification: a minified bundle keeps names, codes and instanceof', async () => {
    const minified = await minifiedCore();
    const classes = errorClasses(minified);
    expect(classes.map(([name]) => name).sort()).toEqual(errorClasses(source).map(([name]) => name).sort());
    // The minifier did rename the classes: a name taken from the class itself would be wrong.
    expect(classes.filter(([name, Class]) => Class.name !== name).length).toBeGreaterThan(0);
    const Base = minified.SuperresError as ErrorClass;
    for (const [name, Class] of classes) {
      const error = instance(name, Class);
      expect(error.name, `minified ${name}`).toBe(name);
      expect(error).toBeInstanceOf(Class);
      expect(error).toBeInstanceOf(Base);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(instance(name, (source as unknown as Record<string, ErrorClass>)[name]!).code);
    }
    const fromCode = (minified.superresErrorFromCode as typeof superresErrorFromCode)('E_DOWNLOAD', 'x');
    expect(fromCode.name).toBe('DownloadError');
  });
});
