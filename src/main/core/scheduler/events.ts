import type { AgentAlert } from '../../../shared/model/alert.js';
import type { RunOutcome, RunTrigger } from '../../../shared/model/run.js';

/** One unit of scheduled work, handed to the `JobRunner`. */
export interface Job {
  /** Unique per attempt; the runner may use it as the run-history id. */
  readonly id: string;
  readonly kind: 'backup' | 'check' | 'prune';
  readonly repository: string;
  readonly source: string | null;
  readonly policy: string | null;
  readonly trigger: RunTrigger;
  /** 1 for the first try, 2 for the first retry … */
  readonly attempt: number;
  /** Backups: run `forget` (with `--prune` when `prune`) after a successful backup. */
  readonly retention: { readonly due: boolean; readonly prune: boolean } | null;
  /** Checks: `--read-data-subset` value, or null for structure only. */
  readonly readDataSubset: string | null;
  /** Prunes: restic's `--max-unused` / `--max-repack-size`, null = restic's defaults. */
  readonly maxUnused: string | null;
  readonly maxRepackSize: string | null;
  /** Set when the run conditions were relaxed because the deadline passed. */
  readonly conditionsRelaxed: boolean;
}

/** Runs one job (restic backup + retention, or check). Must settle when `signal` aborts. */
export type JobRunner = (job: Job, signal: AbortSignal) => Promise<{ outcome: RunOutcome; message: string }>;

/** Event payloads of the scheduler (and the staleness watchdog's `alert`). */
export interface SchedulerEvents {
  readonly 'job-started': { readonly job: Job; readonly at: string };
  readonly 'job-finished': {
    readonly job: Job;
    readonly outcome: RunOutcome;
    readonly message: string;
    /** ISO time of the retry, when one was planned. */
    readonly retryAt: string | null;
    readonly at: string;
  };
  readonly 'condition-blocked': {
    readonly key: string;
    readonly repository: string;
    readonly source: string | null;
    readonly reasons: ReadonlyArray<string>;
    /** ISO time of the next check. */
    readonly recheckAt: string;
  };
  readonly alert: AgentAlert;
  /** Something in `nextRuns()` or the pause state changed (status screens redraw). */
  readonly 'plan-changed': { readonly at: string };
}

type Listener<T> = (payload: T) => void;

/** A tiny typed event emitter; a throwing listener is isolated from the others and from the scheduler. */
export class TypedEmitter<E extends object> {
  readonly #listeners = new Map<keyof E, Set<Listener<never>>>();

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    for (const l of this.#listeners.get(event) ?? []) {
      try {
        (l as Listener<E[K]>)(payload);
      } catch {
        // A UI listener's bug must not stop the schedule.
      }
    }
  }
}
