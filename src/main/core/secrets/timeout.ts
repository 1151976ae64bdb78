import { setLongTimeout, type TimerHandle } from '../time/timers.js';

/** Rejects with `Error(message)` when `promise` takes longer than `ms` (the work itself cannot be cancelled). */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: TimerHandle | undefined;
  // unref: a hung keyring call must not keep a one-shot CLI alive on its own.
  const timeout = new Promise<never>((_, reject) => {
    timer = setLongTimeout(() => reject(new Error(message)), ms, { unref: true });
  });
  return Promise.race([promise, timeout]).finally(() => timer?.cancel());
}
