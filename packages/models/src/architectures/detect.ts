/**
 * Detection and graph building over the default architecture registry: the built-in
 * architectures, and any a user registers with `registerArchitecture`.
 */
import type { StateDict } from '../checkpoint/types.js';
import type { Architecture, ArchitectureOverrides, BuiltGraph, DetectedArchitecture } from './architecture.js';
import { BUILTIN_ARCHITECTURES } from './builtin.js';
import { createArchitectureRegistry, type ArchitectureRegistry } from './registry.js';

export type { Architecture, ArchitectureGeometry, ArchitectureOverrides, BuiltGraph, DetectedArchitecture } from './architecture.js';

/** The registry `pluginFromCheckpoint`, `inspectModel` and the converters use. */
export const architectures: ArchitectureRegistry = createArchitectureRegistry(BUILTIN_ARCHITECTURES);

/**
 * Adds an architecture to the default registry: checkpoints of it are then recognised,
 * inspected and converted like the built-in ones (on this thread: Node's worker pool imports its
 * own copy of this module, see `createWorkerPool({ architectureModules })`).
 */
export function registerArchitecture<H extends object>(architecture: Architecture<H>): void {
  architectures.register(architecture);
}

/** Names the architecture a state dict belongs to, with its hyperparameters and geometry. */
export function detectArchitecture(stateDict: StateDict, overrides: ArchitectureOverrides = {}): DetectedArchitecture {
  return architectures.detect(stateDict, overrides);
}

/** Names the architecture a state dict belongs to and builds its ONNX graph. */
export function buildGraphFromStateDict(stateDict: StateDict, overrides: ArchitectureOverrides = {}): BuiltGraph {
  return architectures.build(stateDict, overrides);
}
