import { prng } from '../../../../test-support/mutate.js';

/** mulberry32 (test-support/mutate.ts): deterministic test weights and inputs, values in [-0.5, 0.5). */
export function random(seed: number): () => number {
  const next = prng(seed);
  return () => next() - 0.5;
}
