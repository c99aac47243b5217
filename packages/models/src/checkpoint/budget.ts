/**
 * How many bytes reading a checkpoint may make us allocate, from the file's own size. A `.pth`
 * is untrusted: a 779-byte file of stride-0 views, or a 1 MB zip of zeros declaring gigabytes,
 * must not take gigabytes of memory. Real checkpoints stay far below: a state dict materialises
 * at most about its stored bytes, twice for float16 widened to float32, twice again where two
 * keys share one storage (tied weights); zip entries of float weights barely compress.
 */
export const BUDGET_FACTOR = 4;
export const BUDGET_SLACK_BYTES = 16 * 2 ** 20;

export function checkpointByteBudget(fileBytes: number): number {
  return BUDGET_FACTOR * fileBytes + BUDGET_SLACK_BYTES;
}
