import type { ModelPlugin } from '@superres/core';
import type { ConvertCheckpointOptions } from './convert-checkpoint.js';

/**
 * A plugin whose `toOnnx(bytes)` is exactly `convertCheckpoint(bytes, checkpoint)`. Saying so as
 * data lets a host run the conversion in a worker instead of calling the function in its own
 * thread (the catalog's entries and imported checkpoints are such plugins).
 */
export interface CheckpointPlugin extends ModelPlugin {
  readonly checkpoint: ConvertCheckpointOptions;
}

export function checkpointConversionOf(plugin: ModelPlugin): ConvertCheckpointOptions | undefined {
  const checkpoint = (plugin as Partial<CheckpointPlugin>).checkpoint;
  return typeof checkpoint === 'object' && checkpoint !== null ? checkpoint : undefined;
}
