import type { Clock, TimerHandle } from '../../src/main/core/time/clock.js';

interface FakeTimer {
  readonly id: number;
  readonly at: number; // monotonic due time
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A controllable clock for tests: wall and monotonic time move only when told, and timers fire on
 * monotonic time like Node's do.
 *
 * `advance(ms)` moves both clocks and fires due timers in order; `sleep(ms)` moves only the wall clock
 * (a suspended laptop: nothing fires while asleep, timers fire late in wall time after wake).
 */
export class FakeClock implements Clock {
  #wall: number;
  #mono = 0;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(startWall: number | string | Date = '2024-01-01T00:00:00Z') {
    this.#wall = new Date(startWall).getTime();
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { id: ++this.#seq, at: this.#mono + Math.max(0, ms), fn, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers armed and not yet fired or cancelled. */
  pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Monotonic ms until the next live timer, or null. */
  nextTimerIn(): number | null {
    const live = this.#timers.filter((t) => !t.cancelled);
    if (!live.length) return null;
    return Math.min(...live.map((t) => t.at)) - this.#mono;
  }

  /** Advances wall and monotonic time together, firing every timer that falls due (in order). */
  advance(ms: number): void {
    const target = this.#mono + ms;
    for (;;) {
      const due = this.#timers.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#wall += due.at - this.#mono;
      this.#mono = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.#wall += target - this.#mono;
    this.#mono = target;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  /** Simulates suspend: the wall clock jumps, monotonic time and timers stand still. */
  sleep(ms: number): void {
    this.#wall += ms;
  }

  /** Sets the wall clock (e.g. an NTP correction) without moving monotonic time. */
  setWall(wall: number | string | Date): void {
    this.#wall = new Date(wall).getTime();
  }
}
