/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

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

/** Longest delay `setTimeout` accepts (larger values fire immediately). */
export const MAX_TIMER_MS = 2_147_483_647;

/** The real clock: `Date.now`, `performance.now` and an unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    // The scheduler must not keep a one-shot CLI process alive; the daemon has its own keep-alive.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
