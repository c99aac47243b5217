/** Recognising this server's own object URLs (`<base>/<prefix><key>`), for reading them without a fetch. */
import { isSafeKey } from './errors.js';

/** The storage key `url` names after `prefixUrl` (what urlOf('') gives), or undefined (another URL, a query, an odd name). */
export function ownKeyOf(url: string, prefixUrl: string): string | undefined {
  const prefix = prefixUrl;
  if (!url.startsWith(prefix)) return undefined;
  const key = url.slice(prefix.length);
  // Only the names put() writes: 32 hex digits and an image extension, nothing to traverse.
  return isSafeKey(key) ? key : undefined;
}
