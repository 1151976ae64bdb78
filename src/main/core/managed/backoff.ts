import { randomInt } from 'node:crypto';

/** Parameters of one traffic class (spec §6 table). */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  /** Cap while offline (defaults to `capMs`). */
  readonly offlineCapMs?: number;
}

/** register, token/rotate, status and logs: base 1 s, cap 60 s (300 s offline). */
export const OUTBOX_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000, offlineCapMs: 300_000 };
/** Long-poll errors: base 2 s, cap 60 s (300 s offline). */
export const POLL_BACKOFF: BackoffPolicy = { baseMs: 2000, capMs: 60_000, offlineCapMs: 300_000 };

/** Uniform CSPRNG integer in [0, maxMs]; never seeded from shared state (spec §6, the GitHub anti-pattern). */
export function cryptoJitter(maxMs: number): number {
  const max = Math.max(0, Math.floor(maxMs));
  return max === 0 ? 0 : randomInt(0, max + 1);
}

/**
 * Full-jitter delay for failure number `n` (0-based): `max(250 ms, U(0, min(cap, base·2^n)))`; with
 * `Retry-After`: `max(retryAfter, computed) + U(0, 1 s)`.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  n: number,
  opts: { offline?: boolean; retryAfterMs?: number | null; random?: (maxMs: number) => number } = {},
): number {
  const random = opts.random ?? cryptoJitter;
  const cap = opts.offline ? (policy.offlineCapMs ?? policy.capMs) : policy.capMs;
  const ceiling = Math.min(cap, policy.baseMs * 2 ** Math.min(n, 30));
  const computed = Math.max(250, random(ceiling));
  if (opts.retryAfterMs != null && opts.retryAfterMs >= 0) return Math.max(opts.retryAfterMs, computed) + random(1000);
  return computed;
}

/** Parses `Retry-After` (delta seconds or an HTTP-date) into milliseconds from `now`; null when absent/invalid. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), 86_400) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), 86_400_000);
}

/** A per-traffic-class failure counter: `n` resets after any 2xx. */
export class Backoff {
  #n = 0;
  constructor(private readonly policy: BackoffPolicy) {}
  /** Failures since the last success. */
  get failures(): number {
    return this.#n;
  }
  /** Records a failure and returns how long to wait before the next try. */
  fail(opts: { offline?: boolean; retryAfterMs?: number | null } = {}): number {
    const d = backoffDelay(this.policy, this.#n, opts);
    this.#n += 1;
    return d;
  }
  succeed(): void {
    this.#n = 0;
  }
}

/** Sleeps `ms`, resolving early (without throwing) when `signal` aborts. */
export { sleep } from '../time/timers.js';
