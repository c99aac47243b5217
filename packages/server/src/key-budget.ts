/**
 * Per-key budgets as token buckets: `capacity` units, refilled at `capacity / windowMs`. Used for
 * upload bytes (`SUPERRES_UPLOAD_QUOTA`) and compute seconds (`SUPERRES_COMPUTE_QUOTA`), so one
 * key cannot fill the disk or hold every worker. A bucket may go into debt when what a job cost
 * is only known after it ran: the key then waits until the debt is paid back.
 *
 * Held in this process's memory (one entry per key that used it): with several API processes,
 * each enforces its own share.
 */
export type BudgetAnswer = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface KeyBudget {
  /** Takes `amount` if the key has it now; else says when it will. */
  take(keyId: string, amount: number): BudgetAnswer;
  /** Whether the key has anything left (not in debt); else when it will. */
  check(keyId: string): BudgetAnswer;
  /** Charges `amount` whatever is left (may go into debt). */
  charge(keyId: string, amount: number): void;
  /** The units the key has now (negative: in debt). */
  left(keyId: string): number;
}

export interface KeyBudgetOptions {
  /** Units a key may use in one window (and at most at once). 0: unlimited. */
  capacity: number;
  windowMs: number;
  now?: () => number;
}

export function createKeyBudget(options: KeyBudgetOptions): KeyBudget {
  const { capacity, windowMs } = options;
  const now = options.now ?? Date.now;
  const perMs = capacity / windowMs;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const unlimited = capacity <= 0;

  function bucket(keyId: string) {
    const t = now();
    let b = buckets.get(keyId);
    if (!b) buckets.set(keyId, (b = { tokens: capacity, at: t }));
    b.tokens = Math.min(capacity, b.tokens + (t - b.at) * perMs);
    b.at = t;
    return b;
  }
  const wait = (missing: number): BudgetAnswer => ({ ok: false, retryAfterSeconds: Math.max(1, Math.ceil(missing / perMs / 1000)) });

  return {
    take(keyId, amount) {
      if (unlimited) return { ok: true };
      const b = bucket(keyId);
      if (amount > capacity) return { ok: false, retryAfterSeconds: Number.POSITIVE_INFINITY };
      if (b.tokens < amount) return wait(amount - b.tokens);
      b.tokens -= amount;
      return { ok: true };
    },
    check(keyId) {
      if (unlimited) return { ok: true };
      const b = bucket(keyId);
      return b.tokens >= 0 ? { ok: true } : wait(-b.tokens);
    },
    charge(keyId, amount) {
      if (unlimited) return;
      bucket(keyId).tokens -= amount;
    },
    left(keyId) {
      return unlimited ? Number.POSITIVE_INFINITY : bucket(keyId).tokens;
    },
  };
}
