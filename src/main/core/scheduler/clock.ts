import { setLongTimeout, type TimerHandle } from '../time/timers.js';

export type { TimerHandle } from '../time/timers.js';

/**
 * Time as the scheduler sees it.
 *
 * `now()` is wall-clock time (jumps on NTP corrections, time-zone travel and sleep); `monotonic()` only moves
 * forward and — like Node's own timers — does not advance while the machine is suspended. The difference
 * between the two is how the scheduler notices that it slept.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin. */
  monotonic(): number;
  /** Calls `fn` once after `ms` of monotonic time. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** The real clock: `Date.now`, `performance.now` and an unref'd (chained) timer. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  // The scheduler must not keep a one-shot CLI process alive; the daemon has its own keep-alive.
  setTimer: (ms, fn) => setLongTimeout(fn, ms, { unref: true }),
};
