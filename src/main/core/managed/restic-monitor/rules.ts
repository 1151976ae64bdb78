import type { RunOutcome } from '../../../../shared/model/run.js';
import { redact } from '../../log/redact.js';
import type { RmTaskResultRequest } from './api.js';
import type { RmTaskRow } from './store.js';
import type { ExecutionResult } from '../types.js';
import type { RmTask } from './types.js';

/**
 * Pure rules of the restic-monitor dialect: what to do with a task handed out (again), how an outcome is
 * spelled for the server, how often to heartbeat.
 */

/** What to do with a task the server handed out. */
export type IngestDecision =
  /** Store and run it (first sight, or a genuine retry after a reported failure). */
  | { readonly kind: 'run'; readonly supersedeOlder: boolean }
  /** Already held locally (claimed, running, or its result is still queued): ignore the copy. */
  | { readonly kind: 'duplicate' }
  /** Already finished and delivered, yet handed out again with no newer attempt: report the stored result, don't run. */
  | { readonly kind: 'rereport' };

/**
 * Dedupe: the server's GET is the claim and has no reaper or lease, so the same task can reach us again (server
 * restored from backup, a retry of a failure, a result whose 200 was lost). `attempt` = the server's retry_count.
 */
export function decideIngest(existing: RmTaskRow | null, incomingAttempt: number): IngestDecision {
  if (!existing || existing.state === 'dropped') return { kind: 'run', supersedeOlder: false };
  const newer = incomingAttempt > existing.attempt;
  switch (existing.state) {
    case 'claimed':
    case 'running':
      return { kind: 'duplicate' };
    case 'reported':
      // A newer attempt after our failure report means the server applied it (its 200 was lost): drop the queued copy.
      return newer && existing.resultStatus === 'failed' ? { kind: 'run', supersedeOlder: true } : { kind: 'duplicate' };
    case 'delivered':
      return newer && existing.resultStatus === 'failed' ? { kind: 'run', supersedeOlder: false } : { kind: 'rereport' };
  }
}

/** Prefixes that steer the server's error categorisation (task_results.go: non-retryable phrases, categories). */
const ERROR_PREFIX: Partial<Record<RunOutcome, string>> = {
  'wrong-password': 'authentication failed', // not retryable: the password will not fix itself
  'no-repo': 'invalid repository', // not retryable
  locked: 'repository locked (temporarily unavailable)', // category transient
  timeout: 'timeout',
  stalled: 'timeout (restic stalled)',
};

/** Builds the `task-results` body: `success`/`failed`, integer duration, policyId always, log tail, errorMessage. */
export function buildResult(task: Pick<RmTask, 'id' | 'policyId' | 'type'>, r: ExecutionResult, durationMs: number, log: string): RmTaskResultRequest {
  // `partial` (backup exit 3) made a snapshot: report success so the server does not re-run the whole backup.
  const ok = r.outcome === 'success' || r.outcome === 'partial';
  const prefix = ERROR_PREFIX[r.outcome];
  const message = redact(r.message).slice(0, 2000);
  const errorMessage = ok
    ? r.outcome === 'partial'
      ? `partial: ${message}`
      : undefined
    : prefix && !message.toLowerCase().startsWith(prefix)
      ? `${prefix}: ${message}`
      : message || `restic ${r.outcome}`;
  return {
    taskId: task.id,
    policyId: task.policyId,
    taskType: task.type,
    status: ok ? 'success' : 'failed',
    durationSeconds: Math.max(0, Math.round(durationMs / 1000)),
    ...(log ? { log } : {}),
    ...(r.snapshotId ? { snapshotId: r.snapshotId } : {}),
    ...(errorMessage ? { errorMessage } : {}),
  };
}

/**
 * The agent's own closing lines for a task's log: with `--json`, a successful backup prints no plain text at all,
 * so without these the server's run log would be empty. Says what ran, how it ended and, for a backup, the
 * snapshot and the statistics the server has no field for.
 */
export function summaryLines(type: string, r: ExecutionResult, durationMs: number): string[] {
  const secs = Math.max(0, Math.round(durationMs / 1000));
  const how = r.outcome === 'success' ? 'succeeded' : r.outcome === 'partial' ? 'finished with unreadable files' : `ended: ${r.outcome}`;
  const exit = r.exitCode === null ? 'no exit code' : `exit ${r.exitCode}`;
  const lines = [`restic-agent: ${type} ${how} after ${secs} s (${exit})${r.message ? `: ${redact(r.message).slice(0, 2000)}` : ''}`];
  if (r.snapshotId) lines.push(`restic-agent: snapshot ${r.snapshotId} saved`);
  const s = r.stats;
  if (s) {
    lines.push(
      `restic-agent: files ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnmodified} unmodified; ` +
        `dirs ${s.dirsNew} new, ${s.dirsChanged} changed, ${s.dirsUnmodified} unmodified; ` +
        `added ${s.dataAdded} bytes; processed ${s.totalFilesProcessed} files, ${s.totalBytesProcessed} bytes`,
    );
  }
  return lines;
}

/** A failure result for a task we refuse or could not run (no restic involved). */
export function failureResult(task: { id: string; policyId: string; taskType: string }, errorMessage: string, log = ''): RmTaskResultRequest {
  return {
    taskId: task.id,
    policyId: task.policyId,
    taskType: task.taskType,
    status: 'failed',
    durationSeconds: 0,
    errorMessage: redact(errorMessage).slice(0, 2000),
    ...(log ? { log: redact(log) } : {}),
  };
}

/** Heartbeat interval: at most 30 s (the server flags an agent offline after 90 s without one). */
export function heartbeatIntervalMs(configured: number | undefined): number {
  return Math.max(1000, Math.min(configured ?? 30_000, 30_000));
}
