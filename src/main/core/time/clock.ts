import { setLongTimeout, sleep, type TimerHandle } from './timers.js';

export type { TimerHandle } from './timers.js';

/**
 * Time as the core sees it: one port, injected from `createAgentCore` into what plans by the clock (tests pass
 * `tests/fakes/fake-clock.ts`).
 *
 * `now()` is wall-clock time (jumps on NTP corrections, time-zone travel and sleep); `monotonic()` only moves
 * forward and — like Node's own timers — does not advance while the machine is suspended. The difference
 * between the two is how the core notices that the machine slept or the clock was stepped (`driftSince`).
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

/** A reading of both clocks at one moment. */
export interface ClockMark {
  readonly wall: number;
  readonly mono: number;
}

export const markClock = (clock: Clock = systemClock): ClockMark => ({ wall: clock.now(), mono: clock.monotonic() });

/**
 * How far wall time moved beyond monotonic time since `mark` (ms): positive after a suspend or a forward NTP
 * step, negative after a backward step, ~0 otherwise.
 */
export const driftSince = (mark: ClockMark, clock: Clock = systemClock): number => clock.now() - mark.wall - (clock.monotonic() - mark.mono);

/**
 * Reads both clocks every `everyMs` until `signal` aborts and reports the drift of each interval (a suspend or
 * an NTP step shows up as a large value); for loops that have no timer of their own to compare against.
 */
export async function watchClock(signal: AbortSignal, onDrift: (driftMs: number) => void, everyMs = 5000): Promise<void> {
  let mark = markClock();
  while (await sleep(everyMs, signal)) {
    const drift = driftSince(mark);
    mark = markClock();
    onDrift(drift);
  }
}
