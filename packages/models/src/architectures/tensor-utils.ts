import { BadCheckpointError } from '@superres/core';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';

/** A validated float tensor of the state dict (the architecture checks ran first: this only narrows). */
export function floatTensor(stateDict: StateDict, name: string): TensorEntry & { data: Float32Array } {
  const entry = stateDict.get(name);
  if (!entry || !(entry.data instanceof Float32Array)) throw new BadCheckpointError(`missing tensor ${name}`);
  return entry as TensorEntry & { data: Float32Array };
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A shape as error messages print it: [64, 3, 3, 3]. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** The first five names, and how many more, for error messages. */
export function listNames(names: readonly string[]): string {
  return names.slice(0, 5).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
}

/** What is wrong with one expected tensor (missing, wrong shape, not float), or undefined. */
export function tensorProblem(stateDict: StateDict, name: string, shape: readonly number[]): string | undefined {
  const entry = stateDict.get(name);
  if (!entry) return `missing tensor ${name} (expected shape ${fmt(shape)})`;
  if (!sameShape(entry.shape, shape)) return `tensor ${name} has shape ${fmt(entry.shape)}, expected ${fmt(shape)}`;
  if (!(entry.data instanceof Float32Array)) return `tensor ${name} holds ${entry.dtype} values, expected floating point`;
  if (entry.data.length !== product(shape)) {
    return `tensor ${name} has ${entry.data.length} values, its shape ${fmt(shape)} needs ${product(shape)}`;
  }
  return undefined;
}

/** How many consecutive `<prefix>.<n>.` indices, from 0, the names have (spandrel's get_seq_len). */
export function countIndices(stateDict: StateDict, prefix: string): number {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.`);
  let max = -1;
  for (const key of stateDict.keys()) {
    const m = re.exec(key);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** An architecture's shape errors: `bad` for a tensor of the wrong shape, `shapeOf` for one that must exist. */
export interface ShapeErrors {
  readonly bad: (name: string, shape: readonly number[], expected: string) => never;
  readonly shapeOf: (stateDict: StateDict, name: string, expected: string) => readonly number[];
}

export function shapeErrors(architecture: string): ShapeErrors {
  const bad = (name: string, shape: readonly number[], expected: string): never => {
    throw new BadCheckpointError(`${architecture}: tensor ${name} has shape ${fmt(shape)}, expected ${expected}`, {
      details: { tensor: name, shape: [...shape] },
    });
  };
  const shapeOf = (stateDict: StateDict, name: string, expected: string): readonly number[] => {
    const shape = stateDict.get(name)?.shape;
    if (!shape) throw new BadCheckpointError(`${architecture}: missing tensor ${name} (expected shape ${expected})`, { details: { tensor: name } });
    return shape;
  };
  return { bad, shapeOf };
}
