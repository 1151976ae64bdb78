import { Wakeable } from '../wakeable.js';
import type { CallResult } from './client.js';

/** Offline after this many consecutive transport failures or 5xx (spec §6). */
export const OFFLINE_AFTER_FAILURES = 3;
/** …or after this long without any success. */
export const OFFLINE_AFTER_MS = 5 * 60_000;

/** Why authenticated traffic is paused. */
export type AuthState = 'ok' | 'expired' | 'suspended' | 'forbidden' | 'gone';

/**
 * Shared connection health: offline mode, credential trouble, wake-ups. Every call result passes through
 * `observe` so all loops agree on the state.
 */
export class Link {
  #failures = 0;
  #lastSuccess = performance.now();
  #offline = false;
  auth: AuthState = 'ok';
  authCode: string | null = null;
  upgradeRequired: string | null = null;
  rttMs: number | null = null;
  readonly #wakeable = new Wakeable();

  constructor(private readonly onChange: (what: 'online' | 'offline' | 'auth') => void = () => {}) {}

  get offline(): boolean {
    if (!this.#offline && performance.now() - this.#lastSuccess > OFFLINE_AFTER_MS) this.#setOffline(true);
    return this.#offline;
  }

  /** Records the result of any call and returns it. */
  observe<T>(r: CallResult<T>): CallResult<T> {
    if (r.ok) {
      this.#failures = 0;
      this.#lastSuccess = performance.now();
      this.rttMs = r.rttMs;
      if (this.#offline) this.#setOffline(false);
      return r;
    }
    if (r.kind === 'transient' || r.kind === 'overload') {
      this.#failures += 1;
      if (this.#failures >= OFFLINE_AFTER_FAILURES && !this.#offline) this.#setOffline(true);
    } else {
      // The server answered: it is reachable even if it said no.
      this.#failures = 0;
      this.#lastSuccess = performance.now();
      if (this.#offline) this.#setOffline(false);
    }
    return r;
  }

  setAuth(state: AuthState, code: string | null = null): void {
    if (this.auth === state && this.authCode === code) return;
    this.auth = state;
    this.authCode = code;
    this.onChange('auth');
    this.wake();
  }

  /** Resolves at the next `wake()`, after `ms`, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return this.#wakeable.wait(ms, signal);
  }

  /** Wakes every loop waiting in `wait`. */
  wake(): void {
    this.#wakeable.wake();
  }

  #setOffline(v: boolean): void {
    this.#offline = v;
    this.onChange(v ? 'offline' : 'online');
    this.wake();
  }
}
