import type { Logger } from '../../log/logger.js';
import { decideIngest, failureResult } from './rules.js';
import type { RmStore } from './store.js';
import { parseTask } from './task.js';

/** How many tasks of a poll response were stored, ignored or reported without running. */
export interface IngestSummary {
  readonly claimed: number;
  readonly duplicates: number;
  readonly rereported: number;
  readonly rejected: number;
}

/**
 * Persists what a poll claimed, BEFORE anything runs: new tasks are stored, copies of tasks we hold are
 * ignored, tasks finished earlier get their stored result again, invalid tasks are reported as failed (so they
 * do not stay `assigned` forever on a server without a reaper).
 */
export function ingestTasks(store: RmStore, raw: ReadonlyArray<unknown>, now: number, log: Logger): IngestSummary {
  let claimed = 0;
  let duplicates = 0;
  let rereported = 0;
  let rejected = 0;
  for (const item of raw) {
    const parsed = parseTask(item);
    if (!parsed.ok) {
      const r = parsed.rejected;
      if (!r) {
        log.error('restic-monitor: ignoring a task without usable id/policy_id (cannot report it)', { reason: parsed.reason });
        continue;
      }
      const existing = store.task(r.id);
      if (existing && existing.state !== 'dropped') {
        duplicates += 1;
        continue;
      }
      log.warn('restic-monitor: task rejected', { taskId: r.id, reason: r.reason });
      store.finish(
        { taskId: r.id, attempt: 0, policyId: r.policyId, taskType: r.taskType },
        failureResult(r, `task rejected by agent: ${r.reason}`, `restic-agent rejected task ${r.id}: ${r.reason}`),
        now,
      );
      rejected += 1;
      continue;
    }
    const task = parsed.task;
    const existing = store.task(task.id);
    const decision = decideIngest(existing, task.retryCount);
    if (decision.kind === 'duplicate') {
      log.info('restic-monitor: task handed out again while held locally; ignoring the copy', { taskId: task.id, attempt: task.retryCount });
      duplicates += 1;
    } else if (decision.kind === 'rereport' && existing) {
      log.warn('restic-monitor: task handed out again after its result was delivered; re-reporting, not re-running', { taskId: task.id });
      store.finish(
        { taskId: task.id, attempt: task.retryCount, policyId: task.policyId, taskType: task.type },
        {
          taskId: task.id,
          policyId: task.policyId,
          taskType: task.type,
          status: existing.resultStatus === 'success' ? 'success' : 'failed',
          durationSeconds: 0,
          log: 'restic-agent: this task was handed out again after its result had been delivered; the stored result is reported again and the task was not re-run.',
          ...(existing.snapshotId ? { snapshotId: existing.snapshotId } : {}),
          ...(existing.message ? { errorMessage: existing.message } : {}),
        },
        now,
      );
      rereported += 1;
    } else if (decision.kind === 'run') {
      if (decision.supersedeOlder) store.supersede(task.id, task.retryCount);
      store.claim(task, now);
      claimed += 1;
    }
  }
  return { claimed, duplicates, rereported, rejected };
}
