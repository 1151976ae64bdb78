import type { RepoAccess } from '../../config/types.js';
import type { Logger } from '../../log/logger.js';
import { failureResult } from './rules.js';
import type { RmStore } from './store.js';
import type { ResolveRepository, RmTask, RmTaskExecutor } from './types.js';

/** The local credentials for a task's repository: by the agent's spelling of it, else by the server's. */
export async function resolveTaskRepository(resolve: ResolveRepository, task: RmTask): Promise<RepoAccess | null> {
  return (await resolve(task.repository)) ?? (await resolve(task.serverRepository));
}

/**
 * Tasks left `running` by a previous process: a backup whose snapshot (tag `task=<id>`) is in the repository
 * is reported as the success it was; anything else as interrupted. Never run again (the server would not know).
 */
export async function recoverInterrupted(store: RmStore, executor: RmTaskExecutor, resolve: ResolveRepository, log: Logger): Promise<void> {
  for (const row of store.running()) {
    const task: RmTask | null = row.task;
    const ids = { taskId: row.taskId, attempt: row.attempt, policyId: row.policyId, taskType: row.taskType };
    let snapshotId: string | null = null;
    if (task?.type === 'backup') {
      try {
        const access = await resolveTaskRepository(resolve, task);
        if (access) snapshotId = await executor.findSnapshotForTask({ ...task, access, reconcileTag: `task=${task.id}` });
      } catch (e) {
        log.warn('restic-monitor: could not look for the snapshot of an interrupted backup', { taskId: row.taskId, error: (e as Error).message });
      }
    }
    const note = 'restic-agent: the agent restarted while this task was running; it was not run again.';
    const body = snapshotId
      ? {
          taskId: row.taskId,
          policyId: row.policyId,
          taskType: row.taskType,
          status: 'success' as const,
          durationSeconds: 0,
          snapshotId,
          log: `${note} Its snapshot ${snapshotId} (tag task=${row.taskId}) was found in the repository.`,
        }
      : failureResult({ id: row.taskId, policyId: row.policyId, taskType: row.taskType }, 'interrupted: the agent restarted while restic was running', note);
    log.warn('restic-monitor: reporting a task interrupted by a restart', { taskId: row.taskId, status: body.status });
    store.finish(ids, body, Date.now());
  }
}
