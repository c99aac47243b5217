import { describe, expect, it } from 'vitest';
import { DuplicateModelError, InvalidOptionError, ModelNotFoundError } from './errors.js';
import type { ModelPlugin } from './plugin.js';
import { createRegistry } from './registry.js';

const plugin = (id: string, kind: ModelPlugin['kind'] = 'upscaler'): ModelPlugin => ({
  id,
  kind,
  scale: 4,
  alignment: 1,
  receptiveRadius: 3,
  toOnnx: async (weights) => weights,
});

describe('createRegistry', () => {
  it('registers, finds, lists by kind and unregisters', () => {
    const registry = createRegistry([plugin('a'), plugin('faces', 'face-restorer')]);
    registry.register(plugin('b'));
    expect(registry.get('b').id).toBe('b');
    expect(registry.has('a')).toBe(true);
    expect(registry.list('upscaler').map((p) => p.id)).toEqual(['a', 'b']);
    expect(registry.list().map((p) => p.id)).toEqual(['a', 'faces', 'b']);
    expect(registry.unregister('a')).toBe(true);
    expect(registry.has('a')).toBe(false);
  });

  it('keeps registries apart: no module-global state', () => {
    const one = createRegistry([plugin('only-here')]);
    const two = createRegistry();
    expect(one.has('only-here')).toBe(true);
    expect(two.has('only-here')).toBe(false);
  });

  it('refuses a duplicate id unless asked to replace', () => {
    const registry = createRegistry([plugin('a')]);
    expect(() => registry.register(plugin('a'))).toThrow(DuplicateModelError);
    const replacement = { ...plugin('a'), scale: 2 };
    registry.register(replacement, { replace: true });
    expect(registry.get('a').scale).toBe(2);
  });

  it('names the unknown id and the known ones', () => {
    const registry = createRegistry([plugin('x4')]);
    expect(() => registry.get('nope')).toThrow(ModelNotFoundError);
    expect(() => registry.get('nope')).toThrow(/"nope".*x4/);
  });

  it('validates what is registered', () => {
    const registry = createRegistry();
    expect(() => registry.register(plugin('../etc/passwd'))).toThrow(InvalidOptionError);
    expect(() => registry.register({ ...plugin('ok'), toOnnx: undefined } as unknown as ModelPlugin)).toThrow(/toOnnx/);
  });
});
