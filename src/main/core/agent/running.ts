import type { Progress, RunKind } from '../../../shared/model/run.js';
import type { RunningInfo } from '../../../shared/model/status.js';

interface Entry {
  info: RunningInfo;
  readonly controller: AbortController;
}

/** Runs in progress: what the tray shows, and the handle to cancel each. */
export class RunningRuns {
  readonly #runs = new Map<string, Entry>();
  #idleWaiters: Array<() => void> = [];

  /** Registers a run; the returned signal aborts on `cancel`, or when `outer` aborts. */
  add(run: { runId: string; kind: RunKind; repository: string; source: string | null }, outer?: AbortSignal): AbortSignal {
    const controller = new AbortController();
    outer?.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
    const info: RunningInfo = { ...run, startedAt: new Date().toISOString(), progress: null };
    this.#runs.set(run.runId, { info, controller });
    return controller.signal;
  }

  progress(runId: string, progress: Progress): RunningInfo | null {
    const entry = this.#runs.get(runId);
    if (!entry) return null;
    entry.info = { ...entry.info, progress };
    return entry.info;
  }

  remove(runId: string): void {
    this.#runs.delete(runId);
    if (this.#runs.size === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Resolves when no run is left (after `cancel`, this is when restic has exited and released its lock). */
  idle(): Promise<void> {
    return this.#runs.size === 0 ? Promise.resolve() : new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Cancels one run, or all when `runId` is null. Returns how many were signalled. */
  cancel(runId: string | null, reason = 'cancelled by the user'): number {
    const targets = runId ? [this.#runs.get(runId)].filter((e) => e !== undefined) : [...this.#runs.values()];
    for (const e of targets) e.controller.abort(new Error(reason));
    return targets.length;
  }

  list(): RunningInfo[] {
    return [...this.#runs.values()].map((e) => e.info);
  }
}
