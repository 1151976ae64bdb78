/**
 * The one timer helper of the core. Node's `setTimeout` fires after 1 ms for any delay above 2^31-1 ms
 * (~24.8 days) and warns `TimeoutOverflowWarning`; every wait that comes from configuration or from a server
 * (run and stall timeouts, cancel grace, schedules, backoffs, deadlines) goes through here and is chained.
 */

/** Longest delay a single `setTimeout` accepts. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Calls `fn` once after `ms` (clamped to ≥ 0). Delays beyond `MAX_TIMER_MS` are chained, so `30d` means 30 days.
 * `unref: true` lets the process exit while only this timer is pending (one-shot CLI commands).
 */
export function setLongTimeout(fn: () => void, ms: number, opts: { unref?: boolean } = {}): TimerHandle {
  let remaining = Number.isFinite(ms) ? Math.max(0, ms) : MAX_TIMER_MS;
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const arm = (): void => {
    const step = Math.min(remaining, MAX_TIMER_MS);
    remaining -= step;
    timer = setTimeout(() => {
      if (cancelled) return;
      if (remaining > 0) arm();
      else fn();
    }, step);
    if (opts.unref) timer.unref();
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/** Resolves `true` after `ms`, or `false` as soon as `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal, opts: { unref?: boolean } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = (): void => {
      timer.cancel();
      resolve(false);
    };
    const timer = setLongTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      opts,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
