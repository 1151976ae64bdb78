/** Parked long polls, woken as soon as something for their agent changes (§5.4: answer as soon as there is work). */

/** Registry of waiting polls per agent. */
export class Waiters {
  private readonly byAgent = new Map<string, Set<() => void>>();

  /** Resolves after `ms`, on `notify` for `agentId` (or for everyone), or when `closed` fires. */
  wait(agentId: string, ms: number, closed: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.byAgent.get(agentId) ?? new Set<() => void>();
      this.byAgent.set(agentId, set);
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        closed.removeEventListener('abort', done);
        if (set.size === 0) this.byAgent.delete(agentId);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      closed.addEventListener('abort', done);
      set.add(done);
    });
  }

  /** Wakes the polls of `agentId`, or all polls when null. */
  notify(agentId: string | null): void {
    const sets = agentId === null ? [...this.byAgent.values()] : [this.byAgent.get(agentId)].filter((s) => s !== undefined);
    for (const set of sets) for (const fn of [...set]) fn();
  }

  /** Wakes everything (used at shutdown). */
  releaseAll(): void {
    this.notify(null);
  }
}
