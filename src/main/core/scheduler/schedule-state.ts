import { z } from 'zod';
import type { AgentStateStore } from '../state/agent-state.js';

const outcomes = [
  'success',
  'partial',
  'no-repo',
  'locked',
  'wrong-password',
  'cancelled',
  'timeout',
  'stalled',
  'killed',
  'crash',
  'config-error',
  'failed',
] as const;

/** What survives a restart for one schedule (a source's backup or a repository's check). ISO times. */
export const jobStateSchema = z.object({
  lastRunAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  nextRunAt: z.string().nullable(),
  /** When the agent first saw this schedule: the reference for "missed" and "deadline" before any run. */
  trackedSince: z.string(),
  /** Set while a run is in progress: still set at start means the agent died mid-run. */
  running: z.boolean().default(false),
  lastOutcome: z.enum(outcomes).nullable().default(null),
  /** The failure alert already sent since the last success (`not-retryable:wrong-password` …). */
  alerted: z.string().nullable().default(null),
  deadlineAlerted: z.boolean().default(false),
  /** Successful runs so far (a check's rotating `--read-data-subset n/N` is taken from it). */
  successes: z.number().int().nonnegative().default(0),
});
export type JobState = z.infer<typeof jobStateSchema>;

const pauseSchema = z.object({ until: z.string() });

/** Key of a schedule's state in the agent-state table. */
export function jobStateKey(jobKey: string): string {
  return `schedule:${jobKey}`;
}

/** Typed access to the scheduler's rows in the agent-state table. */
export class SchedulerStateStore {
  constructor(private readonly store: AgentStateStore) {}

  /** The stored state of a schedule, or a fresh one (stored) tracked from `now`. */
  load(jobKey: string, now: number): JobState {
    const existing = this.store.get(jobStateKey(jobKey), jobStateSchema);
    if (existing) return existing;
    const fresh: JobState = {
      lastRunAt: null,
      lastSuccessAt: null,
      nextRunAt: null,
      trackedSince: new Date(now).toISOString(),
      running: false,
      lastOutcome: null,
      alerted: null,
      deadlineAlerted: false,
      successes: 0,
    };
    this.store.set(jobStateKey(jobKey), fresh);
    return fresh;
  }

  /** Applies `change` to the stored state atomically and returns the result. */
  update(jobKey: string, now: number, change: (s: JobState) => Partial<JobState>): JobState {
    const base = this.load(jobKey, now);
    return this.store.update(jobStateKey(jobKey), jobStateSchema, (cur) => {
      const s = cur ?? base;
      return { ...s, ...change(s) };
    });
  }

  /** Wall ms until which schedules are paused, or null. */
  pausedUntil(): number | null {
    const p = this.store.get('pause', pauseSchema);
    if (!p) return null;
    const t = Date.parse(p.until);
    return Number.isFinite(t) ? t : null;
  }

  setPause(until: number | null): void {
    if (until === null) this.store.delete('pause');
    else this.store.set('pause', { until: new Date(until).toISOString() });
  }
}

/** ISO string → wall ms (null stays null). */
export function ms(iso: string | null): number | null {
  if (iso === null) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}
