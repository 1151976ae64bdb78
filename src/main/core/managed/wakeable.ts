import { setLongTimeout } from '../time/timers.js';

/** A sleep that ends early when woken (on new work or on stop); any number of concurrent sleepers. */
export class Wakeable {
  readonly #sleepers = new Set<() => void>();
  #closed = false;

  /** Resolves after `ms`, as soon as `wake()` is called, or when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer.cancel();
        this.#sleepers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setLongTimeout(done, ms);
      this.#sleepers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Ends every current sleep and makes later ones return at once (on stop: no loop may start a new sleep). */
  close(): void {
    this.#closed = true;
    this.wake();
  }

  /** Allows sleeping again (a restarted agent). */
  open(): void {
    this.#closed = false;
  }

  /** Ends every current sleep. */
  wake(): void {
    for (const done of [...this.#sleepers]) done();
  }
}
