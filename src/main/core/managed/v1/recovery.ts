import type { Logger } from '../../log/logger.js';
import type { LogSpool } from './log-spool.js';
import type { LogStream, Outbox } from './outbox.js';
import type { TaskExecutor } from './types.js';

/**
 * Crash recovery at agent start (spec §7.3). Claims never acknowledged are dropped (nothing ran). Every other
 * attempt still marked claimed/running/cancelling: a surviving restic is stopped (pid + start time), a restart
 * marker is logged, and `failed agent_restarted` (retryable, needs reconcile) is queued. Returns the leases reported.
 */
export async function recoverJournal(d: { outbox: Outbox; executor: TaskExecutor; spool: LogSpool; log: Logger }): Promise<string[]> {
  const reported: string[] = [];
  for (const row of d.outbox.activeJournal()) {
    if (row.claim_acked === 0) {
      d.log.info(`recovery: claim of task ${row.task_id} was never acknowledged; dropping it (nothing ran)`);
      d.outbox.dropLease(row.lease_id);
      continue;
    }
    if (row.restic_pid && d.executor.killOrphan) {
      try {
        await d.executor.killOrphan(row.restic_pid, row.restic_start_time, row.cancel_grace_s * 1000);
      } catch (e) {
        d.log.warn(`recovery: could not stop orphan restic ${row.restic_pid}: ${(e as Error).message}`);
      }
    }
    const stream: LogStream = { kind: 'task', task_id: row.task_id, lease_id: row.lease_id };
    const before = d.outbox.lastLogSeq(row.lease_id);
    d.spool.add(row.lease_id, stream, { level: 'warn', src: 'agent', msg: `agent restarted; output after seq ${before} may be missing` });
    const logSeq = d.spool.flush(row.lease_id, { final: true });
    d.outbox.setLogFinal(row.lease_id, stream, logSeq);
    const now = new Date().toISOString();
    d.outbox.putStatus(row.lease_id, row.task_id, {
      lease_id: row.lease_id,
      attempt: row.attempt,
      status_seq: row.status_seq + 1,
      state: 'failed',
      claimed_at: row.claimed_at,
      started_at: row.started_at,
      finished_at: now,
      elapsed_ms: null,
      progress: null,
      log_seq: logSeq,
      log_final: true,
      result: {
        exit_code: null,
        incomplete: false,
        restic: null,
        error: { code: 'agent_restarted', message: 'the agent restarted while this attempt was running', retryable: true, needs_reconcile: true },
      },
    } as { status_seq: number; state: string; log_seq: number });
    d.log.warn(`recovery: task ${row.task_id} (lease ${row.lease_id}) was interrupted by an agent restart; reported agent_restarted`);
    reported.push(row.lease_id);
  }
  d.outbox.pruneJournal();
  return reported;
}
