/** Shared state of one orchestrator instance, the typed rows, and the protocol error type. */
import type { StateDb } from '../src/main/core/state/db.js';
import type { Clock, OrchestratorOptions } from './options.js';

/** What every handler needs. */
export interface Ctx {
  readonly db: StateDb;
  readonly clock: Clock;
  readonly opts: OrchestratorOptions;
  /** Server clock at (re)start; the failover grace runs from here (§5.3). */
  readonly startedAt: number;
  /** Wakes long polls of `agentId`, or of every agent when null. */
  notify(agentId: string | null): void;
}

/** A protocol error, rendered as RFC 9457 `application/problem+json` with a stable `code` (§2.4). */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** Shorthand to build a `ProblemError`. */
export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): ProblemError {
  return new ProblemError(status, code, detail, extra);
}

/** Records an operator-visible event (security alerts, clone detection, clock skew). */
export function recordEvent(ctx: Ctx, kind: string, agentId: string | null, detail: Record<string, unknown> = {}): void {
  ctx.db.prepare('INSERT INTO events (at, kind, agent_id, detail_json) VALUES (?, ?, ?, ?)').run(ctx.clock.now(), kind, agentId, JSON.stringify(detail));
}

/** Milliseconds → relative whole seconds, never negative. */
export function secondsUntil(targetMs: number | null, nowMs: number): number {
  if (targetMs === null) return 0;
  return Math.max(0, Math.ceil((targetMs - nowMs) / 1000));
}

/** RFC 3339 with milliseconds. */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export interface AgentRow {
  id: string;
  instance_id: string;
  enrollment_id: string;
  registered_at: number;
  hostname: string | null;
  machine_fingerprint: string | null;
  register_json: string;
  labels_json: string;
  capabilities_json: string;
  allowed_types_json: string | null;
  agent_version: string | null;
  status: 'active' | 'disabled' | 'deleted';
  possible_clone: number;
  last_seen: number | null;
  hb_count: number;
  last_heartbeat_json: string | null;
  hb_state: string | null;
  final_at: number | null;
  clock_skew_ms: number | null;
  rotate_requested: number;
  drain_requested: number;
}

export interface TokenRow {
  id: string;
  agent_id: string;
  hash: string;
  state: 'active' | 'pending' | 'superseded' | 'revoked';
  created_at: number;
  expires_at: number;
  first_used_at: number | null;
  superseded_at: number | null;
  revoked_at: number | null;
}

export interface TaskRow {
  id: string;
  agent_id: string | null;
  type: string;
  params_json: string;
  repo_json: string | null;
  repo_id: string | null;
  state: string;
  created_at: number;
  updated_at: number;
  next_attempt: number;
  next_attempt_at: number | null;
  retry_reconcile: number;
  current_lease_id: string | null;
  cancel_requested_at: number | null;
  cancel_reason: string | null;
  deleted_at: number | null;
  max_runtime_s: number;
  lost_after_s: number;
  cancel_grace_s: number;
  rejected_by_json: string;
}

export interface LeaseRow {
  id: string;
  task_id: string;
  agent_id: string;
  attempt: number;
  state: string;
  agent_state: string | null;
  status_seq: number;
  status_json: string | null;
  offered_at: number;
  offer_expires_at: number;
  claimed_at: number | null;
  claim_hb_count: number | null;
  lease_expires_at: number | null;
  missing_beats: number;
  reason: string | null;
  late: number;
  finished_at: number | null;
  params_json: string;
}

/** Typed single-row lookups. */
export function getTask(ctx: Ctx, id: string): TaskRow | undefined {
  return ctx.db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?').get(id);
}
export function getLease(ctx: Ctx, id: string): LeaseRow | undefined {
  return ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE id = ?').get(id);
}
export function getAgent(ctx: Ctx, id: string): AgentRow | undefined {
  return ctx.db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE id = ?').get(id);
}
