import { BadCheckpointError } from '@superres/core';
import type { StateDict, TensorEntry } from '../checkpoint/types.js';

/**
 * Deep network interpolation (Real-ESRGAN's `RealESRGANer.dni`): every tensor becomes
 * `weightA * a + (1 - weightA) * b`, computed in float32 as torch does for float32 tensors.
 * Both state dicts must hold the same tensor names with the same shapes.
 */
export function interpolateStateDicts(a: StateDict, b: StateDict, weightA: number): StateDict {
  if (!Number.isFinite(weightA)) {
    throw new BadCheckpointError(`Interpolation weight must be a finite number, got ${String(weightA)}`);
  }
  const onlyA = [...a.keys()].filter((k) => !b.has(k));
  const onlyB = [...b.keys()].filter((k) => !a.has(k));
  if (onlyA.length > 0 || onlyB.length > 0) {
    throw new BadCheckpointError(
      `Cannot interpolate state dicts with different tensors (only in the first: ${names(onlyA)}; only in the second: ${names(onlyB)})`,
      { details: { onlyA, onlyB } },
    );
  }
  const wA = Math.fround(weightA);
  const wB = Math.fround(1 - weightA);
  const out: StateDict = new Map();
  for (const [name, ta] of a) out.set(name, mix(name, ta, b.get(name)!, wA, wB));
  return out;
}

function mix(name: string, a: TensorEntry, b: TensorEntry, wA: number, wB: number): TensorEntry {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new BadCheckpointError(
      `Cannot interpolate tensor ${name}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`,
      { details: { tensor: name } },
    );
  }
  const da = a.data;
  const db = b.data;
  if (da instanceof Float32Array || da instanceof Float64Array) {
    if (!(db instanceof Float32Array || db instanceof Float64Array)) {
      throw new BadCheckpointError(`Cannot interpolate tensor ${name}: ${a.dtype} and ${b.dtype}`, { details: { tensor: name } });
    }
    const data = new Float32Array(da.length);
    for (let i = 0; i < da.length; i++) data[i] = Math.fround(wA * da[i]!) + Math.fround(wB * db[i]!);
    return { dtype: 'float32', shape: [...a.shape], data };
  }
  // Integer tensors (counters such as num_batches_tracked) cannot be blended: they must agree.
  if (!sameValues(da, db)) {
    throw new BadCheckpointError(`Cannot interpolate integer tensor ${name}: its values differ`, { details: { tensor: name } });
  }
  return a;
}

function sameValues(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function names(list: string[]): string {
  if (list.length === 0) return 'none';
  return list.length > 5 ? `${list.slice(0, 5).join(', ')}, ...` : list.join(', ');
}
