import { InvalidOptionError } from './errors.js';

/**
 * numpy / PyTorch 'reflect' padding (the edge sample is not repeated) of index `index` on an axis
 * of `size` samples. Folds as often as needed, so pads larger than the axis work (numpy does this;
 * PyTorch refuses): the result is periodic with period 2 * (size - 1); a 1-sample axis maps to 0.
 */
export function reflectIndex(index: number, size: number): number {
  if (size <= 1) return 0;
  const period = 2 * (size - 1);
  let i = index % period;
  if (i < 0) i += period;
  return i < size ? i : period - i;
}

/** The smallest multiple of `alignment` that is >= n. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Size of an axis after the reference's pre-pad and alignment ("mod") pad, both on the far side. */
export function paddedSize(size: number, prePad: number, alignment: number): number {
  return alignUp(size + prePad, alignment);
}

/**
 * Padded coordinate -> source coordinate for one axis. Two successive reflect pads, like the
 * reference's two F.pad calls: the alignment pad reflects the already pre-padded axis, which is
 * not the same as one reflect pad of the total width. O(axis) memory; pixels are never copied.
 */
export function reflectPadMap(size: number, prePad: number, alignment: number): Int32Array {
  for (const [name, value, min] of [['size', size, 1], ['prePad', prePad, 0], ['alignment', alignment, 1]] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidOptionError(`${name} must be an integer >= ${min}, got ${value}`, { details: { option: name } });
    }
  }
  const prePadded = size + prePad;
  const map = new Int32Array(alignUp(prePadded, alignment));
  for (let i = 0; i < map.length; i++) map[i] = reflectIndex(reflectIndex(i, prePadded), size);
  return map;
}
