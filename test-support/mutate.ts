// Seeded mutations of real files, for bounded fuzz tests: the same seed gives the same inputs,
// so a failure names the seed and iteration that reproduce it.

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A mutated copy of `bytes`: 1 to 8 edits (byte flips, bytes set to 0x00/0xff/0x7f, a cut, a
 * duplicated run). Positions favour `hot` ranges (headers, directories, pickles: where the
 * structure is), else anywhere.
 */
export function mutate(bytes: Uint8Array, random: () => number, hot: ReadonlyArray<readonly [number, number]> = []): Uint8Array {
  let out = bytes.slice();
  const at = (): number => {
    if (hot.length > 0 && random() < 0.8) {
      const [from, to] = hot[Math.floor(random() * hot.length)]!;
      return Math.min(out.length - 1, from + Math.floor(random() * Math.max(1, to - from)));
    }
    return Math.floor(random() * out.length);
  };
  const edits = 1 + Math.floor(random() * 8);
  for (let e = 0; e < edits && out.length > 1; e++) {
    const kind = random();
    const i = at();
    if (kind < 0.5) out[i] = out[i]! ^ (1 << Math.floor(random() * 8));
    else if (kind < 0.8) out[i] = [0x00, 0xff, 0x7f, 0x80][Math.floor(random() * 4)]!;
    else if (kind < 0.9) out = out.slice(0, i);
    else {
      const length = 1 + Math.floor(random() * 64);
      const copy = new Uint8Array(out.length + length);
      copy.set(out.subarray(0, i));
      copy.set(out.subarray(i, i + length), i);
      copy.set(out.subarray(i), i + Math.min(length, out.length - i));
      out = copy.subarray(0, out.length + Math.min(length, out.length - i));
    }
  }
  return out;
}
