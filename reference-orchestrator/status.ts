/**
 * `POST /tasks/{id}/status` (§5.5): claim and status snapshots, applied by the server rules of §5.5.3 in order:
 * ownership → duplicate → stale → claim → superseded → forward-only → apply (late when unknown/lost).
 */
import type { AgentRow, Ctx, LeaseRow, TaskRow } from './context.js';
import { getLease, getTask, problem, secondsUntil } from './context.js';
import { AGENT_TERMINAL, derivedState, newerAttemptExists, normaliseAgentState, onLeaseChanged, rank, setLease } from './lifecycle.js';
import type { StatusBody } from './wire-schemas.js';

/** The 200 body of a status report. */
export interface StatusReply {
  applied: boolean;
  duplicate: boolean;
  stale: boolean;
  superseded: boolean;
  task_state: string;
  lease_expires_in_s: number;
  cancel_requested: boolean;
  directive?: 'stop';
}

function record(ctx: Ctx, lease: LeaseRow, body: StatusBody, raw: unknown, outcome: string): void {
  ctx.db
    .prepare('INSERT OR IGNORE INTO status_reports (lease_id, status_seq, state, body_json, received_at, outcome) VALUES (?, ?, ?, ?, ?, ?)')
    .run(lease.id, body.status_seq, body.state, JSON.stringify(raw), ctx.clock.now(), outcome);
}

function reply(ctx: Ctx, leaseId: string, flags: Partial<StatusReply>): StatusReply {
  const lease = getLease(ctx, leaseId)!;
  const task = getTask(ctx, lease.task_id)!;
  const superseded = flags.superseded ?? false;
  const out: StatusReply = {
    applied: false,
    duplicate: false,
    stale: false,
    ...flags,
    superseded,
    task_state: task.state,
    lease_expires_in_s: secondsUntil(lease.lease_expires_at, ctx.clock.now()),
    cancel_requested: task.cancel_requested_at !== null && !AGENT_TERMINAL.has(lease.agent_state ?? ''),
  };
  if (superseded) out.directive = 'stop';
  return out;
}

function isSuperseded(ctx: Ctx, task: TaskRow, lease: LeaseRow): boolean {
  return task.current_lease_id !== lease.id && newerAttemptExists(ctx, lease);
}

function renewIfHeld(ctx: Ctx, task: TaskRow, lease: LeaseRow): void {
  if (task.current_lease_id === lease.id && ['claimed', 'running', 'cancelling'].includes(lease.state)) {
    setLease(ctx, lease.id, { lease_expires_at: ctx.clock.now() + ctx.opts.leaseTtlS * 1000 });
  }
}

/** Applies one status document from `agent` for `taskId`. Runs inside the caller's transaction. */
export function handleStatus(ctx: Ctx, agent: AgentRow, taskId: string, body: StatusBody, raw: unknown): StatusReply {
  const task = getTask(ctx, taskId);
  const lease = getLease(ctx, body.lease_id);
  if (!task || task.deleted_at !== null || !lease || lease.task_id !== taskId || lease.agent_id !== agent.id) {
    throw problem(404, 'task_not_found', `Task ${taskId} with lease ${body.lease_id} does not exist for this agent.`);
  }
  const now = ctx.clock.now();
  const prior = ctx.db
    .prepare<[string, number], { outcome: string }>('SELECT outcome FROM status_reports WHERE lease_id = ? AND status_seq = ?')
    .get(lease.id, body.status_seq);
  if (prior && prior.outcome !== 'stale') {
    renewIfHeld(ctx, task, lease);
    return reply(ctx, lease.id, { duplicate: true, superseded: isSuperseded(ctx, task, lease) });
  }
  if (body.status_seq <= lease.status_seq || AGENT_TERMINAL.has(lease.agent_state ?? '')) {
    record(ctx, lease, body, raw, 'stale');
    return reply(ctx, lease.id, { stale: true, superseded: isSuperseded(ctx, task, lease) });
  }
  const state = normaliseAgentState(body.state);
  const doc = JSON.stringify(raw);
  const terminal = AGENT_TERMINAL.has(state);

  if (lease.agent_state === null) {
    // Claim (rule 4): only the current, unexpired offer may be claimed; the agent starts restic only after this 200.
    if (lease.state === 'cancelled' || task.cancel_requested_at !== null) {
      throw problem(409, 'task_cancelled', 'The task was cancelled before it was claimed; do not start it.');
    }
    if (lease.state === 'offer_expired' || (lease.state === 'offered' && lease.offer_expires_at <= now)) {
      throw problem(409, 'offer_expired', 'The offer expired before the claim arrived; drop it and poll again.');
    }
    if (task.current_lease_id !== lease.id || lease.state !== 'offered') {
      throw problem(409, 'lease_superseded', 'This offer was replaced by a newer lease; drop it.');
    }
    setLease(ctx, lease.id, {
      state: state === 'rejected' ? 'rejected' : derivedState(state, task),
      agent_state: state,
      status_seq: body.status_seq,
      status_json: doc,
      claimed_at: now,
      claim_hb_count: agent.hb_count,
      lease_expires_at: now + ctx.opts.leaseTtlS * 1000,
      finished_at: terminal ? now : null,
    });
    record(ctx, lease, body, raw, 'applied');
    onLeaseChanged(ctx, lease.id);
    return reply(ctx, lease.id, { applied: true });
  }

  if (isSuperseded(ctx, task, lease)) {
    // Rule 6: nothing is lost, the attempt's own record is updated, but the task follows the newer attempt.
    record(ctx, lease, body, raw, 'superseded');
    if (rank(state) >= rank(lease.agent_state)) {
      setLease(ctx, lease.id, {
        agent_state: state,
        state,
        status_seq: body.status_seq,
        status_json: doc,
        late: 1,
        finished_at: terminal ? now : lease.finished_at,
      });
    }
    return reply(ctx, lease.id, { superseded: true });
  }
  if (rank(state) < rank(lease.agent_state)) {
    record(ctx, lease, body, raw, 'stale');
    return reply(ctx, lease.id, { stale: true });
  }
  const late = lease.state === 'unknown' || lease.state === 'lost' || lease.state === 'timed_out';
  setLease(ctx, lease.id, {
    agent_state: state,
    state: derivedState(state, task),
    status_seq: body.status_seq,
    status_json: doc,
    lease_expires_at: now + ctx.opts.leaseTtlS * 1000,
    missing_beats: 0,
    late: late || lease.late ? 1 : 0,
    finished_at: terminal ? now : null,
  });
  record(ctx, lease, body, raw, 'applied');
  onLeaseChanged(ctx, lease.id);
  return reply(ctx, lease.id, { applied: true });
}
