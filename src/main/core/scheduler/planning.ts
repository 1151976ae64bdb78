import type { RunTrigger } from '../../../shared/model/run.js';
import type { JobDef } from './job-defs.js';
import { jitterOffsetMs, nextOccurrence, previousOccurrence } from './next-run.js';
import { type JobState, ms } from './schedule-state.js';

/** When a job should next start, and why. Kept in memory; `dueAt` is mirrored to `nextRunAt` on disk. */
export interface Plan {
  /** Wall ms. */
  readonly dueAt: number;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  /** Conditions blocked the run: look again at this wall ms. */
  readonly recheckAt: number | null;
  readonly blockedBy: ReadonlyArray<string> | null;
}

/** The wall ms at which a plan wants attention. */
export function wakeAt(plan: Plan): number {
  return Math.max(plan.dueAt, plan.recheckAt ?? 0);
}

function plan(dueAt: number, trigger: RunTrigger, attempt = 1): Plan {
  return { dueAt, trigger, attempt, recheckAt: null, blockedBy: null };
}

/** A catch-up run, `delayMs` from now (network and disks get time to come up after wake or boot). */
export function catchUpPlan(now: number, delayMs: number, attempt = 1): Plan {
  return plan(now + delayMs, 'catch-up', attempt);
}

/**
 * The next regular occurrence after `now`: cron → next match + jitter; `every` → last run + interval
 * (never in the past). A job that never ran with an `every` schedule starts after `firstRunDelayMs`.
 */
export function regularPlan(def: JobDef, state: JobState, now: number, agentId: string, firstRunDelayMs: number): Plan | null {
  const offset = jitterOffsetMs(agentId, def.key, def.jitterMs);
  const lastRun = ms(state.lastRunAt);
  if (def.schedule.kind === 'every' && lastRun === null) {
    return plan(now + firstRunDelayMs + Math.min(offset, def.schedule.intervalMs), 'schedule');
  }
  const next = nextOccurrence(def.schedule, now, offset, lastRun);
  return next === null ? null : plan(next, 'schedule');
}

/**
 * True when an occurrence passed without a run: the latest occurrence at or before `now` is later than the
 * last run's start (or than the moment the agent started tracking the schedule, if it never ran).
 */
export function missedRun(def: JobDef, state: JobState, now: number, agentId: string): boolean {
  const offset = jitterOffsetMs(agentId, def.key, def.jitterMs);
  const lastRun = ms(state.lastRunAt);
  const reference = lastRun ?? ms(state.trackedSince) ?? now;
  const prev = previousOccurrence(def.schedule, now, offset, lastRun);
  return prev !== null && prev > reference;
}

/**
 * The plan after a (re)start: one catch-up when a run was missed or interrupted, else the next occurrence.
 * Catch-up is decided from durable state only, so a second restart right after does not add a second run.
 */
export function initialPlan(def: JobDef, state: JobState, now: number, agentId: string, catchUpDelayMs: number): Plan | null {
  if (state.running || missedRun(def, state, now, agentId)) return catchUpPlan(now, catchUpDelayMs);
  return regularPlan(def, state, now, agentId, catchUpDelayMs);
}
