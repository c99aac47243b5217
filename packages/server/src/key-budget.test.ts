import { describe, expect, it } from 'vitest';
import { createKeyBudget } from './key-budget.js';

describe('createKeyBudget', () => {
  it('gives each key its capacity, refilled over the window, and says when to retry', () => {
    let t = 0;
    const budget = createKeyBudget({ capacity: 100, windowMs: 100_000, now: () => t });
    expect(budget.take('a', 60)).toEqual({ ok: true });
    expect(budget.take('a', 60)).toEqual({ ok: false, retryAfterSeconds: 20 }); // 20 missing at 1 per second
    expect(budget.take('b', 100)).toEqual({ ok: true }); // another key's own bucket
    t = 20_000;
    expect(budget.take('a', 60)).toEqual({ ok: true });
    expect(budget.take('a', 101)).toMatchObject({ ok: false, retryAfterSeconds: Number.POSITIVE_INFINITY });
    t = 10_000_000;
    expect(budget.left('a')).toBe(100); // never above capacity
  });

  it('lets a charge go into debt, refused until paid back', () => {
    let t = 0;
    const budget = createKeyBudget({ capacity: 10, windowMs: 10_000, now: () => t });
    expect(budget.check('k')).toEqual({ ok: true });
    budget.charge('k', 25);
    expect(budget.left('k')).toBe(-15);
    expect(budget.check('k')).toEqual({ ok: false, retryAfterSeconds: 15 });
    t = 14_000;
    expect(budget.check('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
    t = 15_000;
    expect(budget.check('k')).toEqual({ ok: true });
  });

  it('is unlimited with a capacity of 0', () => {
    const budget = createKeyBudget({ capacity: 0, windowMs: 1000 });
    budget.charge('k', 1e9);
    expect(budget.take('k', 1e12)).toEqual({ ok: true });
    expect(budget.check('k')).toEqual({ ok: true });
  });
});
