import { DuplicateModelError, InvalidOptionError, ModelNotFoundError } from './errors.js';
import type { ModelKind, ModelPlugin } from './plugin.js';

/** An explicit set of model plugins, looked up by id. Never module-global. */
export interface ModelRegistry {
  register(plugin: ModelPlugin, options?: { replace?: boolean }): void;
  get(id: string): ModelPlugin;
  has(id: string): boolean;
  unregister(id: string): boolean;
  list(kind?: ModelKind): ModelPlugin[];
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function createRegistry(plugins: Iterable<ModelPlugin> = []): ModelRegistry {
  const byId = new Map<string, ModelPlugin>();
  const registry: ModelRegistry = {
    register(plugin, options = {}) {
      if (typeof plugin?.id !== 'string' || !ID_PATTERN.test(plugin.id)) {
        throw new InvalidOptionError(
          `Model id must match ${ID_PATTERN}, got ${JSON.stringify(plugin?.id)}`,
          { details: { option: 'id' } },
        );
      }
      if (typeof plugin.toOnnx !== 'function') {
        throw new InvalidOptionError(`Model "${plugin.id}" needs a toOnnx(weights) function`, {
          details: { option: 'toOnnx' },
        });
      }
      if (byId.has(plugin.id) && !options.replace) {
        throw new DuplicateModelError(`A model with id "${plugin.id}" is already registered`);
      }
      byId.set(plugin.id, plugin);
    },
    get(id) {
      const plugin = byId.get(id);
      if (!plugin) {
        const known = [...byId.keys()].join(', ') || 'none';
        throw new ModelNotFoundError(`Unknown model "${id}" (registered: ${known})`, { details: { id } });
      }
      return plugin;
    },
    has: (id) => byId.has(id),
    unregister: (id) => byId.delete(id),
    list: (kind) => [...byId.values()].filter((p) => kind === undefined || p.kind === kind),
  };
  for (const plugin of plugins) registry.register(plugin);
  return registry;
}
