// Deterministic stand-in weights for networks too large to commit: the same formula as
// tools/reference/retinaface_reference.py (formula, formula_state_dict), so a PyTorch reference
// of the network with these weights can be committed as outputs alone.
import type { StateDict } from '../../src/checkpoint/types.js';

type Kind = 'running_var' | 'running_mean' | 'bn_weight' | 'bn_bias' | 'bias' | 'conv';

function kindOf(key: string, shape: readonly number[]): Kind {
  if (key.endsWith('running_var')) return 'running_var';
  if (key.endsWith('running_mean')) return 'running_mean';
  if (shape.length === 1 && key.endsWith('.weight')) return 'bn_weight';
  if (shape.length === 1 && !key.includes('conv1x1')) return 'bn_bias';
  if (shape.length === 1) return 'bias';
  return 'conv';
}

/** Value i: 2 frac(|sin(seed + 12.9898 i)| 43758.5453) - 1, scaled by the tensor's role. */
export function formulaTensor(key: string, shape: readonly number[]): Float32Array {
  let seed = 0;
  for (const c of key) seed += c.charCodeAt(0);
  seed %= 997;
  const count = shape.reduce((a, b) => a * b, 1);
  const kind = kindOf(key, shape);
  const convScale = kind === 'conv' ? Math.fround(Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1))) : 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.abs(Math.sin(seed + 12.9898 * i)) * 43758.5453;
    const t = 2 * (u - Math.floor(u)) - 1;
    const v =
      kind === 'running_var' ? 1 + 0.5 * Math.abs(t) : kind === 'bn_weight' ? 1 + 0.1 * t : kind === 'conv' ? t : 0.1 * t;
    // numpy casts to float32 first, then multiplies by the float32 scale.
    out[i] = kind === 'conv' ? Math.fround(Math.fround(v) * convScale) : v;
  }
  return out;
}

/** A state dict of formula tensors for the given names and shapes. */
export function formulaStateDict(tensors: readonly (readonly [string, readonly number[]])[]): StateDict {
  const sd: StateDict = new Map();
  for (const [key, shape] of tensors) sd.set(key, { dtype: 'float32', shape: [...shape], data: formulaTensor(key, shape) });
  return sd;
}

/** The reference's input image: 127.5 + 127.5 sin(0.37 i), float32, [1, 3, height, width]. */
export function formulaImage(width: number, height: number): Float32Array {
  const out = new Float32Array(3 * width * height);
  for (let i = 0; i < out.length; i++) out[i] = 127.5 + 127.5 * Math.sin(0.37 * i);
  return out;
}
