/**
 * Loaded models kept in this process, per model id, at most `max` of them (least recently used
 * goes first). A model is released only when no job is using it.
 */
import type { LoadedModel } from '@superres/core';

/** Anything the cache can hold: it must let go of its sessions when dropped. */
export interface Releasable {
  release(): Promise<void>;
}

export interface ModelLease<T extends Releasable = LoadedModel> {
  model: T;
  release(): void;
}

export interface ModelCache<T extends Releasable = LoadedModel> {
  acquire(id: string): Promise<ModelLease<T>>;
  /** Drops one model (after its current users finish). */
  evict(id: string): Promise<void>;
  /** Drops every model; returns how many there were. */
  clear(): Promise<number>;
  loadedIds(): string[];
}

interface Entry<T> {
  promise: Promise<T>;
  users: number;
  lastUsed: number;
  dropped: boolean;
}

export function createModelCache<T extends Releasable = LoadedModel>(load: (id: string) => Promise<T>, max: number): ModelCache<T> {
  const entries = new Map<string, Entry<T>>();
  let tick = 0;

  async function dispose(entry: Entry<T>): Promise<void> {
    const model = await entry.promise.catch(() => undefined);
    await model?.release().catch(() => undefined);
  }

  function drop(id: string, entry: Entry<T>): Promise<void> {
    if (entries.get(id) === entry) entries.delete(id);
    entry.dropped = true;
    return entry.users === 0 ? dispose(entry) : Promise.resolve();
  }

  function trim(): void {
    while (entries.size > max) {
      const idle = [...entries].filter(([, e]) => e.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (!idle) return;
      void drop(idle[0], idle[1]);
    }
  }

  return {
    async acquire(id) {
      let entry = entries.get(id);
      if (!entry) {
        const created: Entry<T> = { promise: load(id), users: 0, lastUsed: 0, dropped: false };
        entry = created;
        entries.set(id, created);
        created.promise.catch(() => {
          if (entries.get(id) === created) entries.delete(id);
        });
      }
      entry.users += 1;
      entry.lastUsed = ++tick;
      const current = entry;
      let model: T;
      try {
        model = await current.promise;
      } catch (error) {
        current.users -= 1;
        throw error;
      }
      trim();
      let released = false;
      return {
        model,
        release() {
          if (released) return;
          released = true;
          current.users -= 1;
          if (current.dropped && current.users === 0) void dispose(current);
          trim();
        },
      };
    },
    async evict(id) {
      const entry = entries.get(id);
      if (entry) await drop(id, entry);
    },
    async clear() {
      const all = [...entries];
      await Promise.all(all.map(([id, e]) => drop(id, e)));
      return all.length;
    },
    loadedIds: () => [...entries.keys()],
  };
}
