/**
 * `POST /heartbeat` (§5.3): liveness by the server clock, lease renewal for listed leases, per-lease directives,
 * `agent_not_running` after two beats without a held lease, clone detection by `boot_id`, clock skew.
 */
import type { AgentRow, Ctx, LeaseRow } from './context.js';
import type { ProblemError } from './context.js';
import { getLease, getTask, iso, problem, recordEvent, secondsUntil } from './context.js';
import { AGENT_TERMINAL, derivedState, newerAttemptExists, onLeaseChanged, setLease } from './lifecycle.js';
import { agentConfig } from './options.js';
import { rotationDue, tokenExpiresIn } from './tokens.js';
import type { HeartbeatBody } from './wire-schemas.js';

type Directive = 'continue' | 'cancel' | 'stop' | 'unknown';

/**
 * Refuses a clone: when two boot ids of one agent interleave within two intervals, the newer one gets
 * `409 instance_conflict` (§5.3) — a plain restart (old boot silent) is not a conflict.
 */
export function checkBoot(ctx: Ctx, agent: AgentRow, bootId: string | undefined, record: boolean): boolean {
  if (!bootId) return true;
  const now = ctx.clock.now();
  type Boot = { boot_id: string; first_seen: number; last_seen: number; conflict: number };
  const me = ctx.db.prepare<[string, string], Boot>('SELECT * FROM agent_boots WHERE agent_id = ? AND boot_id = ?').get(agent.id, bootId);
  if (me?.conflict) return false;
  if (!record) return true;
  const firstSeen = me?.first_seen ?? now;
  const others = ctx.db
    .prepare<[string, string, number], Boot>('SELECT * FROM agent_boots WHERE agent_id = ? AND boot_id != ? AND conflict = 0 AND last_seen > ?')
    .all(agent.id, bootId, now - 2 * ctx.opts.heartbeatIntervalS * 1000);
  ctx.db
    .prepare('INSERT INTO agent_boots (agent_id, boot_id, first_seen, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET last_seen = excluded.last_seen')
    .run(agent.id, bootId, firstSeen, now);
  for (const other of others) {
    if (other.last_seen <= firstSeen) continue; // the other boot went silent before this one appeared: a restart
    const newer: string = other.first_seen > firstSeen ? other.boot_id : bootId;
    ctx.db.prepare('UPDATE agent_boots SET conflict = 1 WHERE agent_id = ? AND boot_id = ?').run(agent.id, newer);
    recordEvent(ctx, 'instance_conflict', agent.id, { boot_id: newer });
    if (newer === bootId) return false;
  }
  return true;
}

/** The `409 instance_conflict` answer for a cloned agent. */
export function instanceConflict(): ProblemError {
  return problem(409, 'instance_conflict', 'Another instance of this agent is running; this copy must re-enroll.');
}

function directiveFor(ctx: Ctx, agent: AgentRow, item: { task_id: string; lease_id: string }): { lease: LeaseRow | null; directive: Directive } {
  const lease = getLease(ctx, item.lease_id);
  if (!lease || lease.agent_id !== agent.id) return { lease: null, directive: 'unknown' };
  const task = getTask(ctx, lease.task_id);
  if (!task || task.deleted_at !== null) return { lease, directive: 'stop' };
  const current = task.current_lease_id === lease.id;
  if (!current && newerAttemptExists(ctx, lease)) return { lease, directive: 'stop' };
  if (['offer_expired', 'cancelled'].includes(lease.state) && lease.agent_state === null) return { lease, directive: 'stop' };
  if (lease.state === 'timed_out' && lease.reason === 'server_backstop') return { lease, directive: 'stop' };
  const now = ctx.clock.now();
  const renew = now + ctx.opts.leaseTtlS * 1000;
  if (current && ['claimed', 'running', 'cancelling'].includes(lease.state)) {
    setLease(ctx, lease.id, { lease_expires_at: renew, missing_beats: 0 });
  } else if (current && (lease.state === 'unknown' || lease.state === 'lost') && lease.agent_state !== null && !AGENT_TERMINAL.has(lease.agent_state)) {
    // Disconnected is not lost: the agent is back and still holds it (§5.5.1 "unknown | any report").
    setLease(ctx, lease.id, {
      state: derivedState(lease.agent_state, task),
      lease_expires_at: renew,
      missing_beats: 0,
      late: lease.state === 'lost' ? 1 : lease.late,
      finished_at: null,
    });
    onLeaseChanged(ctx, lease.id);
  }
  const fresh = getLease(ctx, lease.id)!;
  const cancel = task.cancel_requested_at !== null && !AGENT_TERMINAL.has(fresh.agent_state ?? '');
  return { lease: fresh, directive: cancel ? 'cancel' : 'continue' };
}

/** Handles one heartbeat; runs inside the caller's transaction. */
export function handleHeartbeat(
  ctx: Ctx,
  agent: AgentRow,
  tokenId: string,
  body: HeartbeatBody,
  bootHeader: string | undefined,
): Record<string, unknown> | ProblemError {
  const now = ctx.clock.now();
  // The conflict is returned, not thrown, so the flag it sets is committed.
  if (!checkBoot(ctx, agent, body.boot_id ?? bootHeader, true)) return instanceConflict();
  const hbCount = agent.hb_count + 1;
  let skew: number | null = null;
  const sent = body.sent_at ? Date.parse(body.sent_at) : Number.NaN;
  if (Number.isFinite(sent)) {
    skew = Math.round(now - sent - (body.connectivity?.orchestrator_rtt_ms ?? 0) / 2);
    const alert = ctx.opts.clockSkewAlertMs;
    if (Math.abs(skew) > alert && (agent.clock_skew_ms === null || Math.abs(agent.clock_skew_ms) <= alert)) {
      recordEvent(ctx, 'clock_skew', agent.id, { clock_skew_ms: skew });
    }
  }
  ctx.db
    .prepare('UPDATE agents SET hb_count = ?, last_heartbeat_json = ?, hb_state = ?, final_at = ?, clock_skew_ms = COALESCE(?, clock_skew_ms) WHERE id = ?')
    .run(hbCount, JSON.stringify(body), body.state ?? null, body.final === true ? now : null, skew, agent.id);

  const running = body.running ?? [];
  const tasks = running.map((item) => {
    const { lease, directive } = directiveFor(ctx, agent, item);
    const expires = lease?.lease_expires_at ?? null;
    return {
      task_id: item.task_id,
      lease_id: item.lease_id,
      lease_expires_in_s: secondsUntil(expires, ctx.clock.now()),
      directive,
    };
  });
  // A held lease missing from two consecutive beats received after its claim → lost / agent_not_running.
  const listed = new Set(running.map((r) => r.lease_id));
  const held = ctx.db
    .prepare<[string], LeaseRow>(
      `SELECT l.* FROM leases l JOIN tasks t ON t.id = l.task_id AND t.current_lease_id = l.id
       WHERE l.agent_id = ? AND l.state IN ('claimed','running','cancelling','unknown') AND t.deleted_at IS NULL`,
    )
    .all(agent.id);
  for (const l of held) {
    if (listed.has(l.id) || (l.claim_hb_count ?? 0) >= hbCount) continue;
    const missing = l.missing_beats + 1;
    if (missing >= 2) {
      setLease(ctx, l.id, { state: 'lost', reason: 'agent_not_running', missing_beats: missing, finished_at: now });
      onLeaseChanged(ctx, l.id);
    } else {
      setLease(ctx, l.id, { missing_beats: missing });
    }
  }
  const fresh = ctx.db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE id = ?').get(agent.id)!;
  return {
    server_time: iso(now),
    next_heartbeat_s: ctx.opts.heartbeatIntervalS,
    clock_skew_ms: skew,
    tasks,
    token: { rotate: rotationDue(ctx, fresh, tokenId), expires_in_s: tokenExpiresIn(ctx, tokenId) },
    config: agentConfig(ctx.opts),
    upgrade: { min_version: ctx.opts.minAgentVersion, recommended_version: ctx.opts.recommendedAgentVersion },
  };
}
