/**
 * What a long poll returns (§5.4): durable offers for pending tasks and level-triggered control commands.
 * Offers respect per-repo mutual exclusion for prune/forget.
 */
import type { AgentRow, Ctx, LeaseRow, TaskRow } from './context.js';
import { getTask, secondsUntil } from './context.js';
import { newId } from './ids.js';
import { onLeaseChanged } from './lifecycle.js';
import { rotationDue } from './tokens.js';

/** One task offer as sent on the wire. */
export type WireOffer = Record<string, unknown>;
/** One control command as sent on the wire. */
export type WireCommand = Record<string, unknown>;

function offerParams(task: TaskRow, attemptReconcile: boolean): Record<string, unknown> {
  const params = JSON.parse(task.params_json) as Record<string, unknown>;
  return {
    ...params,
    reconcile_tag: attemptReconcile && task.type === 'backup' ? `task=${task.id}` : null,
    pre: attemptReconcile ? ['unlock'] : [],
  };
}

/** The wire form of an offered lease. */
export function toWireOffer(ctx: Ctx, lease: LeaseRow, task: TaskRow): WireOffer {
  const now = ctx.clock.now();
  return {
    task_id: task.id,
    type: task.type,
    attempt: lease.attempt,
    lease_id: lease.id,
    offer_expires_in_s: secondsUntil(lease.offer_expires_at, now),
    lease_ttl_s: ctx.opts.leaseTtlS,
    max_runtime_s: task.max_runtime_s,
    cancel_grace_s: task.cancel_grace_s,
    lost_after_s: task.lost_after_s,
    repo: task.repo_json ? (JSON.parse(task.repo_json) as unknown) : null,
    params: JSON.parse(lease.params_json) as unknown,
  };
}

function repoBusy(ctx: Ctx, task: TaskRow): boolean {
  if ((task.type !== 'prune' && task.type !== 'forget') || task.repo_id === null) return false;
  const row = ctx.db
    .prepare<[string, string], { n: number }>(
      `SELECT COUNT(*) AS n FROM leases l JOIN tasks t ON t.id = l.task_id
       WHERE t.repo_id = ? AND t.id != ? AND t.type IN ('backup','prune','forget')
         AND l.state IN ('offered','claimed','running','cancelling','unknown')`,
    )
    .get(task.repo_id, task.id);
  return (row?.n ?? 0) > 0;
}

function eligible(agent: AgentRow, task: TaskRow): boolean {
  const allowed = agent.allowed_types_json ? (JSON.parse(agent.allowed_types_json) as string[]) : null;
  if (allowed && !allowed.includes(task.type)) return false;
  if (task.agent_id !== null) return task.agent_id === agent.id;
  const caps = JSON.parse(agent.capabilities_json) as string[];
  const rejectedBy = JSON.parse(task.rejected_by_json) as string[];
  return caps.includes(`task:${task.type}`) && !rejectedBy.includes(agent.id);
}

/** Live offers for `agent` (same `lease_id` on every poll until claimed or expired), topped up to `capacity`. */
export function collectOffers(ctx: Ctx, agent: AgentRow, capacity: number): WireOffer[] {
  if (capacity <= 0 || agent.drain_requested) return [];
  const now = ctx.clock.now();
  return ctx.db.transaction(() => {
    const out: WireOffer[] = [];
    const live = ctx.db
      .prepare<[string, number], LeaseRow>("SELECT * FROM leases WHERE agent_id = ? AND state = 'offered' AND offer_expires_at > ? ORDER BY offered_at")
      .all(agent.id, now);
    for (const lease of live.slice(0, capacity)) {
      const task = getTask(ctx, lease.task_id);
      if (task) out.push(toWireOffer(ctx, lease, task));
    }
    if (out.length >= capacity) return out;
    const pending = ctx.db
      .prepare<[string], TaskRow>(
        `SELECT * FROM tasks WHERE state = 'pending' AND deleted_at IS NULL AND cancel_requested_at IS NULL
           AND (agent_id = ? OR agent_id IS NULL) ORDER BY created_at, id`,
      )
      .all(agent.id);
    for (const task of pending) {
      if (out.length >= capacity) break;
      if (!eligible(agent, task) || repoBusy(ctx, task)) continue;
      const leaseId = newId('lse', now);
      const params = offerParams(task, task.retry_reconcile === 1);
      ctx.db
        .prepare(
          `INSERT INTO leases (id, task_id, agent_id, attempt, state, offered_at, offer_expires_at, params_json)
           VALUES (?, ?, ?, ?, 'offered', ?, ?, ?)`,
        )
        .run(leaseId, task.id, agent.id, task.next_attempt, now, now + ctx.opts.offerTtlS * 1000, JSON.stringify(params));
      ctx.db.prepare('UPDATE tasks SET current_lease_id = ?, updated_at = ? WHERE id = ?').run(leaseId, now, task.id);
      onLeaseChanged(ctx, leaseId);
      const lease = ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE id = ?').get(leaseId)!;
      out.push(toWireOffer(ctx, lease, getTask(ctx, task.id)!));
    }
    return out;
  })();
}

/** Desired-state commands for `agent` (§5.4): cancels of its live leases, token rotation, drain. */
export function collectCommands(ctx: Ctx, agent: AgentRow, tokenId: string): Array<{ key: string; command: WireCommand }> {
  const out: Array<{ key: string; command: WireCommand }> = [];
  const cancels = ctx.db
    .prepare<[string], { task_id: string; lease_id: string; reason: string | null }>(
      `SELECT l.task_id, l.id AS lease_id, t.cancel_reason AS reason FROM leases l JOIN tasks t ON t.id = l.task_id
       WHERE l.agent_id = ? AND l.state IN ('claimed','running','cancelling','unknown')
         AND t.cancel_requested_at IS NOT NULL AND t.current_lease_id = l.id`,
    )
    .all(agent.id);
  for (const c of cancels) {
    out.push({
      key: `cancel:${c.lease_id}`,
      command: { type: 'cancel', task_id: c.task_id, lease_id: c.lease_id, reason: c.reason ?? 'user_requested' },
    });
  }
  if (rotationDue(ctx, agent, tokenId)) out.push({ key: 'rotate_token', command: { type: 'rotate_token' } });
  if (agent.drain_requested) out.push({ key: 'drain', command: { type: 'drain' } });
  return out;
}
