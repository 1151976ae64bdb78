import type { AgentAlert } from '../../../shared/model/alert.js';
import type { RunOutcome } from '../../../shared/model/run.js';
import type { Job } from './events.js';
import type { JobDef } from './job-defs.js';
import type { Plan } from './planning.js';
import { classifyOutcome, type FailureClass, permanentReason, retryDelayMs } from './retry.js';

/** What a finished job leads to: its next plan (a retry or the regular one) and, maybe, an alert. */
export interface AfterRun {
  readonly cls: FailureClass;
  readonly next: Plan | null;
  readonly retryAt: number | null;
  /** `flag` makes the alert fire once per failure streak (kept in the job's state). */
  readonly alert: { readonly flag: string; readonly kind: AgentAlert['kind']; readonly message: string } | null;
}

/**
 * The retry and alert policy: transient failures of scheduled runs are retried (when the retry comes before the
 * next regular run), exhausted retries and permanent failures alert. Manual runs are never retried.
 */
export function afterRun(def: JobDef, job: Job, outcome: RunOutcome, message: string, regular: Plan | null, now: number): AfterRun {
  const cls = classifyOutcome(outcome, message);
  if (cls === 'permanent') {
    const text = `${describeJob(def)} failed (${outcome}) and will not be retried: ${permanentReason(outcome)}. ${message}`;
    return { cls, next: regular, retryAt: null, alert: { flag: `not-retryable:${outcome}`, kind: 'not-retryable', message: text } };
  }
  if (cls !== 'transient' || job.trigger === 'manual') return { cls, next: regular, retryAt: null, alert: null };
  const delay = retryDelayMs(def.retry, job.attempt + 1);
  if (delay === null) {
    const text = `${describeJob(def)} failed ${job.attempt} times (${outcome}): ${message}`;
    return { cls, next: regular, retryAt: null, alert: { flag: `retries-exhausted:${outcome}`, kind: 'retries-exhausted', message: text } };
  }
  if (regular !== null && now + delay >= regular.dueAt) return { cls, next: regular, retryAt: null, alert: null };
  const retryAt = now + delay;
  return { cls, next: { dueAt: retryAt, trigger: 'retry', attempt: job.attempt + 1, recheckAt: null, blockedBy: null }, retryAt, alert: null };
}

export function describeJob(def: JobDef): string {
  return def.kind === 'backup' ? `Backup of ${def.source ?? '?'} to "${def.repository}"` : `${def.kind === 'check' ? 'Check' : 'Prune'} of "${def.repository}"`;
}
