/** Polls `/readyz` until it answers `wanted` (its checks are cached for 2 s), up to 20 s; the last status. */
export async function readyzUntil(base: string, wanted: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 100 && status !== wanted; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    status = (await fetch(`${base}/readyz`)).status;
  }
  return status;
}
