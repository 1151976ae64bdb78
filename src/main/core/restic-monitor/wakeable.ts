/** A sleep that ends early when woken (on new work or on stop); any number of concurrent sleepers. */
export class Wakeable {
  readonly #sleepers = new Set<() => void>();

  /** Resolves after `ms`, or as soon as `wake()` is called. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, 2_147_000_000)));
      this.#sleepers.add(done);
    });
  }

  /** Ends every current sleep. */
  wake(): void {
    for (const done of [...this.#sleepers]) done();
  }
}
