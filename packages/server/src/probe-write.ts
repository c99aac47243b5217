/**
 * Whether a directory takes a write right now (for /readyz): a small file written and removed.
 * "Exists and has the right mode" is not enough: a full or read-only file system, or a path
 * that turned into a file, fails only at the write.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function probeWritable(dir: string): Promise<boolean> {
  const probe = join(dir, `.readyz-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, 'ok');
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** Runs `check` at most once per `ttlMs`; callers in between share its last answer. */
export function cachedCheck(check: () => Promise<boolean>, ttlMs: number): () => Promise<boolean> {
  let last: { at: number; value: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) last = { at: now, value: check().catch(() => false) };
    return last.value;
  };
}
