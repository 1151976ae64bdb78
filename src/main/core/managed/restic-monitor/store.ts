import type { Migration, StateDb } from '../../state/db.js';
import type { RmTaskResultRequest } from './api.js';
import type { RmTask } from './types.js';

/** SQLite migrations of the restic-monitor dialect (pass them to `openStateDb` together with the others). */
export const rmMigrations: ReadonlyArray<Migration> = [
  {
    id: 'restic-monitor-001',
    sql: `
CREATE TABLE rm_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per task id: the attempt we hold (server retry_count), claimed → running → reported → delivered.
CREATE TABLE rm_tasks (
  task_id TEXT PRIMARY KEY,
  attempt INTEGER NOT NULL,
  policy_id TEXT NOT NULL,
  task_type TEXT NOT NULL,
  task_json TEXT,
  state TEXT NOT NULL CHECK (state IN ('claimed','running','reported','delivered','dropped')),
  not_before INTEGER,
  acked INTEGER NOT NULL DEFAULT 0,
  claimed_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  result_status TEXT,
  snapshot_id TEXT,
  message TEXT
);
CREATE INDEX rm_tasks_state ON rm_tasks(state, not_before);
-- Results not yet accepted by the server: written before the first send, deleted on its 200.
CREATE TABLE rm_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  body_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sends INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT
);
CREATE INDEX rm_outbox_due ON rm_outbox(next_attempt_at);
`,
  },
];

/** A row of `rm_tasks`. */
export interface RmTaskRow {
  readonly taskId: string;
  readonly attempt: number;
  readonly policyId: string;
  readonly taskType: string;
  readonly task: RmTask | null;
  readonly state: 'claimed' | 'running' | 'reported' | 'delivered' | 'dropped';
  readonly notBefore: number | null;
  readonly acked: boolean;
  readonly claimedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly resultStatus: 'success' | 'failed' | null;
  readonly snapshotId: string | null;
  readonly message: string | null;
}

/** A pending result in the outbox. */
export interface RmOutboxRow {
  readonly id: number;
  readonly taskId: string;
  readonly attempt: number;
  readonly body: RmTaskResultRequest;
  readonly sends: number;
  readonly nextAttemptAt: number;
}

interface RawTaskRow {
  task_id: string;
  attempt: number;
  policy_id: string;
  task_type: string;
  task_json: string | null;
  state: RmTaskRow['state'];
  not_before: number | null;
  acked: number;
  claimed_at: number;
  started_at: number | null;
  finished_at: number | null;
  result_status: 'success' | 'failed' | null;
  snapshot_id: string | null;
  message: string | null;
}

function toRow(r: RawTaskRow): RmTaskRow {
  return {
    taskId: r.task_id,
    attempt: r.attempt,
    policyId: r.policy_id,
    taskType: r.task_type,
    task: r.task_json ? (JSON.parse(r.task_json) as RmTask) : null,
    state: r.state,
    notBefore: r.not_before,
    acked: r.acked === 1,
    claimedAt: r.claimed_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    resultStatus: r.result_status,
    snapshotId: r.snapshot_id,
    message: r.message,
  };
}

/** Durable state of the dialect: agent id, claimed tasks (the server has no reaper) and the result outbox. */
export class RmStore {
  constructor(private readonly db: StateDb) {}

  /** The agent id the server gave us for `url`, or null (never registered there). */
  agentId(url: string): string | null {
    const r = this.db.prepare<[string], { value: string }>('SELECT value FROM rm_kv WHERE key = ?').get(`agent:${url}`);
    return r ? r.value : null;
  }

  setAgentId(url: string, agentId: string): void {
    this.db.prepare('INSERT INTO rm_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(`agent:${url}`, agentId);
  }

  task(taskId: string): RmTaskRow | null {
    const r = this.db.prepare<[string], RawTaskRow>('SELECT * FROM rm_tasks WHERE task_id = ?').get(taskId);
    return r ? toRow(r) : null;
  }

  /** Stores a newly claimed task (replacing an older, finished attempt of the same id). */
  claim(task: RmTask, now: number): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO rm_tasks (task_id, attempt, policy_id, task_type, task_json, state, not_before, acked, claimed_at)
         VALUES (?, ?, ?, ?, ?, 'claimed', ?, 0, ?)`,
      )
      .run(task.id, task.retryCount, task.policyId, task.type, JSON.stringify(task), task.notBefore, now);
  }

  markAcked(taskId: string): void {
    this.db.prepare('UPDATE rm_tasks SET acked = 1 WHERE task_id = ?').run(taskId);
  }

  markRunning(taskId: string, now: number): void {
    this.db.prepare("UPDATE rm_tasks SET state = 'running', started_at = ? WHERE task_id = ?").run(now, taskId);
  }

  /** The server no longer knows the task (ack → 404): forget it without reporting. */
  markDropped(taskId: string, reason: string): void {
    this.db.prepare("UPDATE rm_tasks SET state = 'dropped', message = ? WHERE task_id = ?").run(reason, taskId);
  }

  /**
   * Records a finished attempt and queues its result, in ONE transaction, before anything is sent.
   * `task` is given for tasks never stored (rejected on arrival).
   */
  finish(row: { taskId: string; attempt: number; policyId: string; taskType: string }, body: RmTaskResultRequest, now: number): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO rm_tasks (task_id, attempt, policy_id, task_type, state, claimed_at, finished_at, result_status, snapshot_id, message)
           VALUES (@taskId, @attempt, @policyId, @taskType, 'reported', @now, @now, @status, @snapshotId, @message)
           ON CONFLICT(task_id) DO UPDATE SET state = 'reported', attempt = @attempt, finished_at = @now, result_status = @status,
             snapshot_id = @snapshotId, message = @message`,
        )
        .run({ ...row, now, status: body.status, snapshotId: body.snapshotId ?? null, message: body.errorMessage ?? null });
      this.db
        .prepare('INSERT INTO rm_outbox (task_id, attempt, body_json, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)')
        .run(row.taskId, row.attempt, JSON.stringify(body), now, now);
    })();
  }

  /** Claimed tasks, earliest due first. */
  claimed(): RmTaskRow[] {
    return this.db.prepare<[], RawTaskRow>("SELECT * FROM rm_tasks WHERE state = 'claimed' ORDER BY COALESCE(not_before, 0), claimed_at").all().map(toRow);
  }

  /** Tasks marked running: after a restart these were interrupted. */
  running(): RmTaskRow[] {
    return this.db.prepare<[], RawTaskRow>("SELECT * FROM rm_tasks WHERE state = 'running'").all().map(toRow);
  }

  outboxDue(now: number): RmOutboxRow[] {
    return this.db
      .prepare<[number], { id: number; task_id: string; attempt: number; body_json: string; sends: number; next_attempt_at: number }>(
        'SELECT * FROM rm_outbox WHERE next_attempt_at <= ? ORDER BY id',
      )
      .all(now)
      .map((r) => ({
        id: r.id,
        taskId: r.task_id,
        attempt: r.attempt,
        body: JSON.parse(r.body_json) as RmTaskResultRequest,
        sends: r.sends,
        nextAttemptAt: r.next_attempt_at,
      }));
  }

  outboxSize(): number {
    return this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM rm_outbox').get()?.n ?? 0;
  }

  /** Earliest time an outbox row is due, or null when empty. */
  outboxNextDue(): number | null {
    return this.db.prepare<[], { t: number | null }>('SELECT MIN(next_attempt_at) AS t FROM rm_outbox').get()?.t ?? null;
  }

  /** The server accepted a result: remove it and mark the attempt delivered. */
  delivered(outboxId: number, taskId: string, attempt: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM rm_outbox WHERE id = ?').run(outboxId);
      this.db.prepare("UPDATE rm_tasks SET state = 'delivered' WHERE task_id = ? AND attempt = ? AND state = 'reported'").run(taskId, attempt);
    })();
  }

  /** Drops queued results of older attempts of a task (the server evidently applied them). */
  supersede(taskId: string, olderThanAttempt: number): void {
    this.db.prepare('DELETE FROM rm_outbox WHERE task_id = ? AND attempt < ?').run(taskId, olderThanAttempt);
  }

  defer(outboxId: number, nextAttemptAt: number, error: string): void {
    this.db.prepare('UPDATE rm_outbox SET sends = sends + 1, next_attempt_at = ?, last_error = ? WHERE id = ?').run(nextAttemptAt, error, outboxId);
  }

  /** `success` / `failure` of the newest finished backup, or null when none finished yet. */
  lastBackupResult(): 'success' | 'failure' | null {
    const r = this.db
      .prepare<[], { result_status: string }>(
        "SELECT result_status FROM rm_tasks WHERE task_type = 'backup' AND result_status IS NOT NULL ORDER BY finished_at DESC LIMIT 1",
      )
      .get();
    return r ? (r.result_status === 'success' ? 'success' : 'failure') : null;
  }

  /** Forgets delivered/dropped tasks older than `before` (dedupe memory is kept that long). */
  purge(before: number): void {
    this.db.prepare("DELETE FROM rm_tasks WHERE state IN ('delivered','dropped') AND COALESCE(finished_at, claimed_at) < ?").run(before);
  }
}
