import type { RunOutcome } from '../../../shared/model/run.js';
import type { Job } from './events.js';
import type { JobDef } from './job-defs.js';
import { type Plan, wakeAt } from './planning.js';
import type { JobState } from './schedule-state.js';

/** One schedule, for status screens. Times are ISO. */
export interface ScheduleStatus {
  readonly key: string;
  readonly kind: 'backup' | 'check' | 'prune';
  readonly repository: string;
  readonly source: string | null;
  readonly policy: string | null;
  readonly nextRunAt: string | null;
  readonly nextTrigger: Job['trigger'] | null;
  readonly attempt: number;
  readonly lastRunAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly lastOutcome: RunOutcome | null;
  readonly running: boolean;
  readonly blockedBy: ReadonlyArray<string> | null;
}

/** One schedule's row: its definition, its persisted state and its current plan. */
export function scheduleStatus(d: JobDef, st: JobState, p: Plan | null, running: boolean): ScheduleStatus {
  const next = p ? wakeAt(p) : null;
  return {
    key: d.key,
    kind: d.kind,
    repository: d.repository,
    source: d.source,
    policy: d.policy?.name ?? null,
    nextRunAt: next === null ? null : new Date(next).toISOString(),
    nextTrigger: p?.trigger ?? null,
    attempt: p?.attempt ?? 1,
    lastRunAt: st.lastRunAt,
    lastSuccessAt: st.lastSuccessAt,
    lastOutcome: st.lastOutcome,
    running,
    blockedBy: p?.blockedBy ?? null,
  };
}
