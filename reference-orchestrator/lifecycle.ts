/**
 * The attempt state machine (§5.5.1) and the retry policy (§5.5.2): how a lease's state moves and what the task
 * does when an attempt ends. The server owns `offered`, `unknown` and `lost`; the agent reports the rest.
 */
import type { Ctx, LeaseRow, TaskRow } from './context.js';
import { getTask } from './context.js';

/** Agent-reported terminal states: absorbing per attempt. */
export const AGENT_TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected']);
/** Task states after which nothing more happens. */
export const TASK_TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected', 'lost']);
/** States in which the agent holds the lease. */
export const HELD = ['claimed', 'running', 'cancelling'] as const;
const KNOWN_AGENT_STATES = new Set(['claimed', 'running', 'cancelling', ...AGENT_TERMINAL]);

/** Tolerant reader (§2.6): an unknown reported state counts as a generic failure. */
export function normaliseAgentState(state: string): string {
  return KNOWN_AGENT_STATES.has(state) ? state : 'failed';
}

/** Forward order `claimed < running < cancelling < terminal` (§5.5.3 rule 5). */
export function rank(state: string | null): number {
  if (state === null || state === 'offered') return 0;
  if (state === 'claimed') return 1;
  if (state === 'running') return 2;
  if (state === 'cancelling') return 3;
  return 4;
}

/** The lease state implied by the agent's last report and the task's cancel flag. */
export function derivedState(agentState: string, task: TaskRow): string {
  if (task.cancel_requested_at !== null && (agentState === 'claimed' || agentState === 'running')) return 'cancelling';
  return agentState;
}

/** True when a newer attempt than `lease` was offered or started (§5.5.3 rule 6). */
export function newerAttemptExists(ctx: Ctx, lease: LeaseRow): boolean {
  const row = ctx.db
    .prepare<[string, number], { n: number }>("SELECT COUNT(*) AS n FROM leases WHERE task_id = ? AND attempt > ? AND state NOT IN ('offer_expired')")
    .get(lease.task_id, lease.attempt);
  return (row?.n ?? 0) > 0;
}

const RETRYABLE: Record<string, ReadonlySet<string>> = {
  backup: new Set(['lost', 'agent_restarted', 'agent_shutdown', 'repo_locked', 'transport', 'network', 'repo_unreachable']),
  check: new Set(['lost', 'agent_restarted', 'agent_shutdown', 'repo_locked']),
  forget: new Set(['lost', 'agent_restarted', 'agent_shutdown', 'repo_locked']),
  prune: new Set(['lost', 'agent_restarted', 'agent_shutdown', 'repo_locked']),
};
const RECONCILE_CODES = new Set(['lost', 'agent_restarted', 'agent_shutdown']);

/** The `result.error` of a status document, if any. */
export function errorOf(statusJson: string | null): { code?: unknown; needs_reconcile?: unknown } | null {
  if (!statusJson) return null;
  const doc = JSON.parse(statusJson) as { result?: { error?: unknown } | null };
  const err = doc.result?.error;
  return err && typeof err === 'object' ? (err as { code?: unknown; needs_reconcile?: unknown }) : null;
}

function setTask(ctx: Ctx, id: string, fields: Partial<TaskRow>): void {
  const keys = Object.keys(fields);
  const sets = [...keys.map((k) => `${k} = @${k}`), 'updated_at = @updated_at'].join(', ');
  ctx.db.prepare(`UPDATE tasks SET ${sets} WHERE id = @id`).run({ ...fields, updated_at: ctx.clock.now(), id });
}

/** Updates a lease's columns. */
export function setLease(ctx: Ctx, id: string, fields: Partial<LeaseRow>): void {
  const sets = Object.keys(fields)
    .map((k) => `${k} = @${k}`)
    .join(', ');
  ctx.db.prepare(`UPDATE leases SET ${sets} WHERE id = @id`).run({ ...fields, id });
}

/**
 * Re-derives the task from its current lease after that lease changed: live states are mirrored; an ended attempt
 * finishes the task or schedules a retry per §5.5.2.
 */
export function onLeaseChanged(ctx: Ctx, leaseId: string): void {
  const lease = ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE id = ?').get(leaseId);
  if (!lease) return;
  const task = getTask(ctx, lease.task_id);
  if (!task || task.current_lease_id !== lease.id || task.deleted_at !== null) return;
  const now = ctx.clock.now();
  const s = lease.state;
  if (s === 'offered' || s === 'claimed' || s === 'running' || s === 'cancelling' || s === 'unknown') {
    setTask(ctx, task.id, { state: s, next_attempt_at: null });
    return;
  }
  if (s === 'rejected') {
    if (task.agent_id !== null) {
      setTask(ctx, task.id, { state: 'rejected' });
    } else {
      const by = [...(JSON.parse(task.rejected_by_json) as string[]), lease.agent_id];
      setTask(ctx, task.id, { state: 'pending', current_lease_id: null, rejected_by_json: JSON.stringify(by) });
      ctx.notify(null);
    }
    return;
  }
  // An attempt the agent cancelled on its own (graceful shutdown, §8.3: `cancelled` + retryable `agent_shutdown`)
  // was not cancelled by anyone who wants it gone: it is retried like a failure.
  const selfCancelled =
    s === 'cancelled' && task.cancel_requested_at === null && (errorOf(lease.status_json) as { retryable?: unknown } | null)?.retryable === true;
  if (s === 'failed' || s === 'lost' || selfCancelled) {
    const err = errorOf(lease.status_json);
    const code = s === 'lost' ? 'lost' : typeof err?.code === 'string' ? err.code : 'failed';
    const retryable = RETRYABLE[task.type]?.has(code) ?? false;
    if (retryable && task.cancel_requested_at === null && lease.attempt < ctx.opts.retryMaxAttempts) {
      const delays = ctx.opts.retryDelaysS;
      const delayS = lease.reason === 'agent_not_running' ? 0 : (delays[lease.attempt - 1] ?? delays.at(-1) ?? 0);
      setTask(ctx, task.id, {
        state: 'pending_retry',
        next_attempt: lease.attempt + 1,
        next_attempt_at: now + delayS * 1000,
        retry_reconcile: RECONCILE_CODES.has(code) || err?.needs_reconcile === true ? 1 : 0,
      });
      if (delayS === 0) ctx.notify(task.agent_id);
      return;
    }
  }
  setTask(ctx, task.id, { state: s, next_attempt_at: null });
}

/** Marks a task as cancel-requested and applies the immediate effects of §8.1. Returns false if already final. */
export function requestCancel(ctx: Ctx, task: TaskRow, reason: string): boolean {
  if (TASK_TERMINAL.has(task.state) || task.deleted_at !== null) return false;
  const now = ctx.clock.now();
  setTask(ctx, task.id, { cancel_requested_at: task.cancel_requested_at ?? now, cancel_reason: reason });
  const lease = task.current_lease_id ? ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE id = ?').get(task.current_lease_id) : undefined;
  if (task.state === 'pending' || task.state === 'pending_retry' || !lease) {
    setTask(ctx, task.id, { state: 'cancelled', next_attempt_at: null });
  } else if (lease.state === 'offered') {
    setLease(ctx, lease.id, { state: 'cancelled', reason: 'cancelled_before_claim', finished_at: now });
    setTask(ctx, task.id, { state: 'cancelled' });
  } else if (lease.state === 'claimed' || lease.state === 'running') {
    setLease(ctx, lease.id, { state: 'cancelling' });
    setTask(ctx, task.id, { state: 'cancelling' });
  }
  ctx.notify(task.agent_id ?? lease?.agent_id ?? null);
  return true;
}

/**
 * Time-driven transitions: offer expiry, lease expiry → `unknown`, `lost_after` → `lost`, the runtime backstop,
 * due retries. Lease expiry and loss wait for the failover grace after a (re)start (§5.3).
 */
export function sweep(ctx: Ctx): void {
  const now = ctx.clock.now();
  const inGrace = now < ctx.startedAt + ctx.opts.failoverGraceS * 1000;
  ctx.db.transaction(() => {
    const expiredOffers = ctx.db.prepare<[number], LeaseRow>("SELECT * FROM leases WHERE state = 'offered' AND offer_expires_at <= ?").all(now);
    for (const l of expiredOffers) {
      setLease(ctx, l.id, { state: 'offer_expired' });
      ctx.db
        .prepare("UPDATE tasks SET state = 'pending', current_lease_id = NULL, updated_at = ? WHERE id = ? AND current_lease_id = ?")
        .run(now, l.task_id, l.id);
      ctx.notify(null);
    }
    type Row = LeaseRow & { lost_after_s: number; max_runtime_s: number };
    const live = ctx.db
      .prepare<[], Row>(
        `SELECT l.*, t.lost_after_s, t.max_runtime_s FROM leases l JOIN tasks t ON t.id = l.task_id
         WHERE l.state IN ('claimed','running','cancelling','unknown') AND t.deleted_at IS NULL`,
      )
      .all();
    for (const l of live) {
      const backstop = (l.claimed_at ?? l.offered_at) + (l.max_runtime_s + l.lost_after_s) * 1000;
      if (now >= backstop && l.state !== 'unknown') {
        setLease(ctx, l.id, { state: 'timed_out', reason: 'server_backstop', finished_at: now });
        onLeaseChanged(ctx, l.id);
      } else if (inGrace) {
        continue;
      } else if (l.state !== 'unknown' && l.lease_expires_at !== null && l.lease_expires_at <= now) {
        setLease(ctx, l.id, { state: 'unknown', reason: 'lease_expired' });
        onLeaseChanged(ctx, l.id);
      } else if (l.state === 'unknown' && (l.lease_expires_at ?? now) + l.lost_after_s * 1000 <= now) {
        setLease(ctx, l.id, { state: 'lost', reason: 'lost_after', finished_at: now });
        onLeaseChanged(ctx, l.id);
      }
    }
    const due = ctx.db
      .prepare<[number], { id: string; agent_id: string | null }>(
        "SELECT id, agent_id FROM tasks WHERE state = 'pending_retry' AND next_attempt_at <= ? AND deleted_at IS NULL",
      )
      .all(now);
    for (const t of due) {
      ctx.db.prepare("UPDATE tasks SET state = 'pending', updated_at = ? WHERE id = ?").run(now, t.id);
      ctx.notify(t.agent_id);
    }
    ctx.db.prepare('DELETE FROM idempotency WHERE created_at < ?').run(now - ctx.opts.idempotencyTtlS * 1000);
  })();
}

/** Extends persisted leases to the end of the failover grace (§5.3), called once at start. */
export function applyFailoverGrace(ctx: Ctx): void {
  const until = ctx.startedAt + ctx.opts.failoverGraceS * 1000;
  ctx.db.prepare("UPDATE leases SET lease_expires_at = MAX(COALESCE(lease_expires_at, 0), ?) WHERE state IN ('claimed','running','cancelling')").run(until);
}
