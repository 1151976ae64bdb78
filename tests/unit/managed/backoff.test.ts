import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, parseRetryAfter } from '../../../src/main/core/managed/backoff.js';

describe('full-jitter backoff', () => {
  it('stays within [250 ms, min(cap, base·2^n)]', () => {
    const p = { baseMs: 1000, capMs: 60_000, offlineCapMs: 300_000 };
    for (let n = 0; n < 12; n++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(p, n);
        expect(d).toBeGreaterThanOrEqual(250);
        expect(d).toBeLessThanOrEqual(Math.min(60_000, 1000 * 2 ** n));
      }
    }
    const offline = Array.from({ length: 200 }, () => backoffDelay(p, 20, { offline: true }));
    expect(Math.max(...offline)).toBeGreaterThan(60_000);
    expect(Math.max(...offline)).toBeLessThanOrEqual(300_000);
  });

  it('uses a CSPRNG: values differ between calls (no deterministic seed)', () => {
    const values = new Set(Array.from({ length: 50 }, () => backoffDelay({ baseMs: 1000, capMs: 60_000 }, 10)));
    expect(values.size).toBeGreaterThan(40);
  });

  it('honours Retry-After: max(retryAfter, computed) + up to 1 s', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay({ baseMs: 1000, capMs: 60_000 }, 0, { retryAfterMs: 5000 });
      expect(d).toBeGreaterThanOrEqual(5000);
      expect(d).toBeLessThanOrEqual(6000);
    }
  });

  it('parses Retry-After seconds and HTTP-dates', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(undefined)).toBeNull();
  });

  it('resets the exponent after a success', () => {
    const b = new Backoff({ baseMs: 1000, capMs: 1_000_000 });
    for (let i = 0; i < 8; i++) b.fail();
    expect(b.failures).toBe(8);
    b.succeed();
    expect(b.failures).toBe(0);
    expect(b.fail()).toBeLessThanOrEqual(1000);
  });
});
