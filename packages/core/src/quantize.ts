/** Rounds to the nearest integer, ties to even, as numpy's `np.round` (the reference) does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties go towards +Infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A model output sample to an integer sample: clamp to [0, 1], then `round(v * max)` with the
 * multiply in float32 like the reference's numpy arrays. NaN becomes 0.
 */
export function quantize(value: number, max: number): number {
  const v = value > 1 ? 1 : value >= 0 ? value : 0;
  return roundHalfEven(Math.fround(v * max));
}

/** Clamps to [0, 1]; NaN becomes 0. */
export function clamp01(value: number): number {
  return value > 1 ? 1 : value >= 0 ? value : 0;
}

/** ITU-R BT.601 luma, the weights of cv2's RGB2GRAY / BGR2GRAY; float32 result like cv2 on float32. */
export function rgbToGray(r: number, g: number, b: number): number {
  return Math.fround(0.299 * r + 0.587 * g + 0.114 * b);
}
