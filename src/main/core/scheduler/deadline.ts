import type { JobDef } from './job-defs.js';
import { type JobState, ms } from './schedule-state.js';

/**
 * A run's condition deadline (`conditions.deadline`): once a job has had no success for that long, it runs
 * despite unmet conditions. Counted from the last success, or from when the agent started tracking the job.
 */
export function deadlinePassed(def: JobDef, st: JobState, now: number): boolean {
  const deadline = def.conditions?.deadlineMs ?? 0;
  return deadline > 0 && now - since(st, now) >= deadline;
}

/** When a condition-blocked job looks again: after `recheckMs`, or sooner when its deadline comes first. */
export function recheckAt(def: JobDef, st: JobState, now: number, recheckMs: number): number {
  const deadline = def.conditions?.deadlineMs ?? 0;
  const at = now + recheckMs;
  return deadline > 0 ? Math.min(at, Math.max(now + 1, since(st, now) + deadline)) : at;
}

function since(st: JobState, now: number): number {
  return ms(st.lastSuccessAt) ?? ms(st.trackedSince) ?? now;
}
