import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InvalidOptionError, ModelNotFoundError, type ModelPlugin, type ModelRegistry } from '@superres/core';
import type { ArchitectureOverrides } from '../../architectures/detect.js';
import type { CheckpointPlugin } from '../../convert/checkpoint-plugin.js';
import { convertCheckpoint } from '../../convert/convert-checkpoint.js';
import { readImportRecord, readTofuRecord, type ImportRecord } from './records.js';
import { weightsExtension, type StoreLayout } from './paths.js';

/** Same rule as the registry's ids: also keeps ids safe to use as file names. */
export const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A known id and where its weights live. */
export type Located =
  | { source: 'catalog'; id: string; plugin: ModelPlugin; url: string; path: string }
  | { source: 'imported'; id: string; plugin: ModelPlugin; record: ImportRecord; path: string };

export function checkId(id: string): string {
  if (typeof id !== 'string' || !MODEL_ID.test(id)) {
    throw new InvalidOptionError(`Model id must match ${MODEL_ID}, got ${JSON.stringify(id)}`, { details: { option: 'id' } });
  }
  return id;
}

/** Catalog (registry) ids first, then models imported into this store. */
export async function locate(layout: StoreLayout, registry: ModelRegistry, id: string): Promise<Located> {
  checkId(id);
  if (registry.has(id)) {
    const plugin = registry.get(id);
    if (!plugin.weights?.url) {
      throw new ModelNotFoundError(`Model "${id}" has no download URL: load its weights yourself`, { details: { id } });
    }
    const url = plugin.weights.url;
    return { source: 'catalog', id, plugin, url, path: layout.weights(id, weightsExtension(url)) };
  }
  const record = await readImportRecord(layout.importRecord(id));
  if (record) return { source: 'imported', id, plugin: importedPlugin(record), record, path: join(layout.dir, record.file) };
  const known = [...registry.list().map((p) => p.id), ...(await importedIds(layout))];
  throw new ModelNotFoundError(`Unknown model "${id}" (known: ${known.join(', ') || 'none'})`, { details: { id } });
}

/** The sha256 the file must have: published, recorded at first download, or recorded at import. */
export async function expectedSha256(layout: StoreLayout, located: Located): Promise<string | undefined> {
  if (located.source === 'imported') return located.record.sha256;
  return located.plugin.weights?.sha256 ?? (await readTofuRecord(layout.tofuRecord(located.id)));
}

export async function importedIds(layout: StoreLayout): Promise<string[]> {
  const names = await readdir(layout.dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.json') && !n.startsWith('.'))
    .map((n) => basename(n, '.json'))
    .filter((id) => MODEL_ID.test(id))
    .sort();
}

/** A plugin for an imported file; its geometry was recorded at import, so nothing is read now. */
export function importedPlugin(record: ImportRecord): ModelPlugin | CheckpointPlugin {
  const base = {
    id: record.id,
    kind: record.kind ?? 'upscaler',
    description: `Imported ${record.architecture === 'onnx' ? 'ONNX model' : record.architecture}${(record.kind ?? 'upscaler') === 'upscaler' ? ` x${record.scale}` : ''}`,
    scale: record.scale,
    alignment: record.alignment,
    receptiveRadius: record.receptiveRadius,
    ...(record.workingBytesPerPixel !== undefined ? { workingBytesPerPixel: record.workingBytesPerPixel } : {}),
    ...(record.tileMultiple !== undefined ? { tileMultiple: record.tileMultiple } : {}),
  };
  if (record.format === 'onnx') return { ...base, toOnnx: async (bytes) => bytes };
  const checkpoint = { overrides: (record.overrides ?? {}) as ArchitectureOverrides };
  return { ...base, checkpoint, toOnnx: async (bytes) => convertCheckpoint(bytes, checkpoint).onnx };
}
