/** Exact fractions for scales and offsets: tiling needs them exact, not within a float error. */
export interface Rational {
  readonly n: number;
  readonly d: number;
}

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

export function rational(n: number, d = 1): Rational {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(d) || d === 0) throw new RangeError(`Not a fraction: ${n}/${d}`);
  const g = gcd(n, d) || 1;
  const sign = d < 0 ? -1 : 1;
  return { n: (sign * n) / g, d: (sign * d) / g };
}

export const ZERO = rational(0);
export const ONE = rational(1);

export const add = (a: Rational, b: Rational) => rational(a.n * b.d + b.n * a.d, a.d * b.d);
export const sub = (a: Rational, b: Rational) => rational(a.n * b.d - b.n * a.d, a.d * b.d);
export const mul = (a: Rational, b: Rational) => rational(a.n * b.n, a.d * b.d);
export const div = (a: Rational, b: Rational) => rational(a.n * b.d, a.d * b.n);
export const equal = (a: Rational, b: Rational) => a.n === b.n && a.d === b.d;
export const floorOf = (a: Rational) => Math.floor(a.n / a.d);
export const show = (a: Rational) => (a.d === 1 ? String(a.n) : `${a.n}/${a.d}`);

/**
 * The fraction with a small denominator (<= 64) that a float scale factor stands for, e.g. 2 for
 * 2.0, 1/2 for 0.5, 3/2 for 1.5; undefined when none is within 1e-6.
 */
export function fromFloat(value: number): Rational | undefined {
  if (!Number.isFinite(value) || value <= 0) return undefined;
  for (let d = 1; d <= 64; d++) {
    const n = Math.round(value * d);
    if (n > 0 && Math.abs(n / d - value) <= 1e-6 * Math.max(1, value)) return rational(n, d);
  }
  return undefined;
}
