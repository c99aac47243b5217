/**
 * API and admin keys. Keys are compared in constant time (on their sha256, so lengths leak
 * nothing either). Where none is configured, one is generated at first start, stored 0600 in
 * the data directory, and handed back once for the caller to print.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface KeyIdentity {
  /** Stable, non-secret id of the key (sha256 prefix): safe in logs and job records. */
  keyId: string;
  admin: boolean;
}

export interface KeyRing {
  /** The identity of `key`, or undefined when it is not a configured key. */
  check(key: unknown): KeyIdentity | undefined;
}

export interface GeneratedKey {
  kind: 'api' | 'admin';
  key: string;
  path: string;
}

export interface LoadKeysOptions {
  apiKeys: string[];
  adminKeys: string[];
  dataDir: string;
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function keyId(key: string): string {
  return sha256(`superres-key:${key}`).toString('hex').slice(0, 16);
}

export function createKeyRing(apiKeys: string[], adminKeys: string[]): KeyRing {
  const entries = [
    ...adminKeys.map((k) => ({ hash: sha256(k), id: keyId(k), admin: true })),
    ...apiKeys.map((k) => ({ hash: sha256(k), id: keyId(k), admin: false })),
  ];
  return {
    check(key) {
      if (typeof key !== 'string' || key.length === 0 || key.length > 1024) return undefined;
      const hash = sha256(key);
      let found: KeyIdentity | undefined;
      // Compare against every entry, no early exit: timing says nothing about which key matched.
      for (const entry of entries) {
        if (timingSafeEqual(hash, entry.hash) && !found) found = { keyId: entry.id, admin: entry.admin };
      }
      return found;
    },
  };
}

/** Reads the stored secret `name` from the data dir, creating it (0600) when absent. */
export async function storedSecret(dataDir: string, name: string): Promise<{ value: string; path: string; created: boolean }> {
  const path = join(dataDir, name);
  await mkdir(dataDir, { recursive: true });
  try {
    const value = (await readFile(path, 'utf8')).trim();
    if (value) return { value, path, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const value = `sr_${randomBytes(24).toString('base64url')}`;
  try {
    // O_EXCL: two processes starting at once cannot both create (and print) a key.
    const handle = await open(path, 'wx', 0o600);
    await handle.writeFile(`${value}\n`);
    await handle.close();
    return { value, path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { value: (await readFile(path, 'utf8')).trim(), path, created: false };
  }
}

/** Builds the key ring; generated keys that were created just now come back in `generated`. */
export async function loadKeys(options: LoadKeysOptions): Promise<{ ring: KeyRing; generated: GeneratedKey[] }> {
  const generated: GeneratedKey[] = [];
  let { apiKeys, adminKeys } = options;
  if (apiKeys.length === 0) {
    const s = await storedSecret(options.dataDir, 'api-key');
    apiKeys = [s.value];
    if (s.created) generated.push({ kind: 'api', key: s.value, path: s.path });
  }
  if (adminKeys.length === 0) {
    const s = await storedSecret(options.dataDir, 'admin-key');
    adminKeys = [s.value];
    if (s.created) generated.push({ kind: 'admin', key: s.value, path: s.path });
  }
  return { ring: createKeyRing(apiKeys, adminKeys), generated };
}
