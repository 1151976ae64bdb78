/**
 * Operator actions on the orchestrator state, shared by the admin HTTP API and the CLI's `--db` mode. Views redact
 * repo secrets.
 */
import { z } from 'zod';
import type { AgentRow, Ctx, LeaseRow, TaskRow } from './context.js';
import { getAgent, getTask, iso, problem } from './context.js';
import { newId } from './ids.js';
import { requestCancel } from './lifecycle.js';
import type { EnrollmentSpec } from './tokens.js';
import { createEnrollmentToken } from './tokens.js';
import { parseBody } from './wire-schemas.js';

const strings = z.array(z.string());
const PARAMS: Record<string, z.ZodType> = {
  backup: z
    .object({
      paths: strings.optional(),
      // The agent's extension: a source it has configured (a plugin source's id or name), instead of paths.
      source: z.string().min(1).optional(),
      exclude: strings.optional(),
      tags: strings.optional(),
      host: z.string().optional(),
      limit_upload_kib: z.number().int().positive().optional(),
    })
    .loose()
    .refine((p) => (p.paths?.length ?? 0) > 0 || p.source !== undefined, { message: 'give paths (at least one) or source', path: ['paths'] }),
  check: z.object({ read_data_subset: z.string().optional() }).loose(),
  forget: z
    .object({
      keep: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
      group_by: z.string().optional(),
      host: z.string().optional(),
      tags: strings.optional(),
    })
    .loose(),
  prune: z.object({ max_unused: z.string().optional(), max_repack_size: z.string().optional() }).loose(),
};

/** Input of `createTask`. */
export const taskSpec = z.object({
  agent_id: z.string().nullable().optional(),
  type: z.enum(['backup', 'check', 'prune', 'forget']),
  params: z.record(z.string(), z.unknown()).default({}),
  repo: z
    .object({
      repo_id: z.string().optional(),
      url: z.string().min(1),
      env: z.record(z.string(), z.string()).optional(),
      password: z.string().optional(),
      credentials_expire_in_s: z.number().int().optional(),
    })
    .loose()
    .nullable()
    .optional(),
  max_runtime_s: z.number().int().positive().optional(),
  lost_after_s: z.number().int().positive().optional(),
  cancel_grace_s: z.number().int().min(0).optional(),
});
export type TaskSpec = z.input<typeof taskSpec>;

function redactRepo(json: string | null): unknown {
  if (!json) return null;
  const repo = JSON.parse(json) as Record<string, unknown>;
  const env = repo.env as Record<string, string> | undefined;
  return {
    ...repo,
    ...(repo.password !== undefined ? { password: '[REDACTED]' } : {}),
    ...(env ? { env: Object.fromEntries(Object.keys(env).map((k) => [k, '[REDACTED]'])) } : {}),
  };
}

interface StreamRow {
  hwm: number;
  final: number;
  truncated: number;
  dropped: number;
}

function logInfo(ctx: Ctx, lease: LeaseRow): Record<string, unknown> {
  const s = ctx.db.prepare<[string], StreamRow>('SELECT * FROM log_streams WHERE stream_id = ?').get(lease.id);
  const doc = lease.status_json ? (JSON.parse(lease.status_json) as { log_seq?: unknown }) : {};
  const terminalSeq =
    ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(lease.agent_state ?? '') && typeof doc.log_seq === 'number' ? doc.log_seq : null;
  const hwm = s?.hwm ?? 0;
  return {
    hwm,
    final: s?.final === 1,
    truncated: s?.truncated === 1,
    dropped: s?.dropped ?? 0,
    terminal_log_seq: terminalSeq,
    complete: terminalSeq !== null && hwm >= terminalSeq,
  };
}

function attemptView(ctx: Ctx, l: LeaseRow): Record<string, unknown> {
  const reports = ctx.db
    .prepare<[string], { status_seq: number; state: string; outcome: string; received_at: number }>(
      'SELECT status_seq, state, outcome, received_at FROM status_reports WHERE lease_id = ? ORDER BY received_at, status_seq',
    )
    .all(l.id);
  return {
    lease_id: l.id,
    attempt: l.attempt,
    agent_id: l.agent_id,
    state: l.state,
    agent_state: l.agent_state,
    status_seq: l.status_seq,
    late: l.late === 1,
    reason: l.reason,
    offered_at: iso(l.offered_at),
    claimed_at: iso(l.claimed_at),
    finished_at: iso(l.finished_at),
    lease_expires_at: iso(l.lease_expires_at),
    params: JSON.parse(l.params_json) as unknown,
    status: l.status_json ? (JSON.parse(l.status_json) as unknown) : null,
    log: logInfo(ctx, l),
    reports: reports.map((r) => ({ ...r, received_at: iso(r.received_at) })),
  };
}

/** The admin view of a task, with every attempt (offers that expired included). */
export function taskView(ctx: Ctx, t: TaskRow): Record<string, unknown> {
  const leases = ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE task_id = ? ORDER BY offered_at, id').all(t.id);
  const current = leases.find((l) => l.id === t.current_lease_id);
  const status = current?.status_json ? (JSON.parse(current.status_json) as { result?: unknown }) : null;
  return {
    task_id: t.id,
    agent_id: t.agent_id,
    type: t.type,
    state: t.state,
    params: JSON.parse(t.params_json) as unknown,
    repo: redactRepo(t.repo_json),
    created_at: iso(t.created_at),
    updated_at: iso(t.updated_at),
    attempt: current?.attempt ?? 0,
    current_lease_id: t.current_lease_id,
    next_attempt_at: iso(t.next_attempt_at),
    cancel_requested: t.cancel_requested_at !== null,
    cancel_reason: t.cancel_reason,
    deleted: t.deleted_at !== null,
    max_runtime_s: t.max_runtime_s,
    lost_after_s: t.lost_after_s,
    cancel_grace_s: t.cancel_grace_s,
    result: status?.result ?? null,
    attempts: leases.map((l) => attemptView(ctx, l)),
  };
}

function mustTask(ctx: Ctx, id: string): TaskRow {
  const t = getTask(ctx, id);
  if (!t) throw problem(404, 'task_not_found', `No task ${id}.`);
  return t;
}

function mustAgent(ctx: Ctx, id: string): AgentRow {
  const a = getAgent(ctx, id);
  if (!a) throw problem(404, 'agent_not_found', `No agent ${id}.`);
  return a;
}

/** Operator actions; every method runs synchronously against the database. */
export function adminOps(ctx: Ctx) {
  const tx = <T>(fn: () => T): T => ctx.db.transaction(fn)();
  return {
    /** New enrollment token; the plaintext `token` is shown only here. */
    createEnrollmentToken: (spec: EnrollmentSpec = {}) => createEnrollmentToken(ctx, spec),
    revokeEnrollmentToken: (id: string) => {
      const r = ctx.db.prepare('UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(ctx.clock.now(), id);
      if (r.changes === 0) throw problem(404, 'enrollment_not_found', `No active enrollment token ${id}.`);
      return { id, revoked: true };
    },
    /** Queues a task (`agent_id` null: any capable agent) and wakes the agent's poll. */
    createTask: (input: unknown) =>
      tx(() => {
        const spec = parseBody(taskSpec, input);
        const params = parseBody(PARAMS[spec.type]!, spec.params) as Record<string, unknown>;
        if (spec.agent_id) mustAgent(ctx, spec.agent_id);
        const now = ctx.clock.now();
        const id = newId('tsk', now);
        ctx.db
          .prepare(
            `INSERT INTO tasks (id, agent_id, type, params_json, repo_json, repo_id, state, created_at, updated_at, max_runtime_s, lost_after_s, cancel_grace_s)
             VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
          )
          .run(
            id,
            spec.agent_id ?? null,
            spec.type,
            JSON.stringify(params),
            spec.repo ? JSON.stringify(spec.repo) : null,
            spec.repo ? (spec.repo.repo_id ?? spec.repo.url) : null,
            now,
            now,
            spec.max_runtime_s ?? ctx.opts.maxRuntimeS,
            spec.lost_after_s ?? ctx.opts.lostAfterS,
            spec.cancel_grace_s ?? ctx.opts.cancelGraceS,
          );
        ctx.notify(spec.agent_id ?? null);
        return taskView(ctx, getTask(ctx, id)!);
      }),
    getTask: (id: string) => taskView(ctx, mustTask(ctx, id)),
    listTasks: (agentId?: string) =>
      (agentId
        ? ctx.db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE agent_id = ? ORDER BY created_at').all(agentId)
        : ctx.db.prepare<[], TaskRow>('SELECT * FROM tasks ORDER BY created_at').all()
      ).map((t) => taskView(ctx, t)),
    /** Requests cancellation (§8.1); a finished task is returned unchanged. */
    cancelTask: (id: string, reason = 'user_requested') =>
      tx(() => {
        requestCancel(ctx, mustTask(ctx, id), reason);
        return taskView(ctx, getTask(ctx, id)!);
      }),
    /** Deletes a task: later reports get `404 task_not_found` and heartbeats `directive: stop` (scenario 23). */
    deleteTask: (id: string) =>
      tx(() => {
        const t = mustTask(ctx, id);
        ctx.db.prepare("UPDATE tasks SET deleted_at = ?, state = 'deleted' WHERE id = ?").run(ctx.clock.now(), id);
        ctx.notify(t.agent_id);
        return { task_id: id, deleted: true };
      }),
    /** Stored log entries of every attempt, in seq order, with completeness. */
    getLogs: (taskId: string) => {
      mustTask(ctx, taskId);
      const leases = ctx.db.prepare<[string], LeaseRow>('SELECT * FROM leases WHERE task_id = ? ORDER BY offered_at, id').all(taskId);
      return {
        task_id: taskId,
        attempts: leases
          .filter((l) => l.agent_state !== null)
          .map((l) => ({
            lease_id: l.id,
            attempt: l.attempt,
            ...logInfo(ctx, l),
            entries: ctx.db
              .prepare<[string], { entry_json: string }>('SELECT entry_json FROM log_entries WHERE stream_id = ? ORDER BY seq')
              .all(l.id)
              .map((r) => JSON.parse(r.entry_json) as unknown),
          })),
      };
    },
    listAgents: () =>
      ctx.db
        .prepare<[], AgentRow>('SELECT * FROM agents ORDER BY registered_at')
        .all()
        .map((a) => agentView(ctx, a)),
    getAgent: (id: string) => agentView(ctx, mustAgent(ctx, id)),
    /** Operator actions on an agent: forced rotation, revocation, disable/enable, drain, delete. */
    agentAction: (id: string, action: string) =>
      tx(() => {
        mustAgent(ctx, id);
        const now = ctx.clock.now();
        const run = (sql: string, ...args: unknown[]): void => void ctx.db.prepare(sql).run(...args);
        if (action === 'rotate-token') run('UPDATE agents SET rotate_requested = 1 WHERE id = ?', id);
        else if (action === 'revoke-tokens')
          run("UPDATE agent_tokens SET state = 'revoked', revoked_at = ? WHERE agent_id = ? AND state != 'revoked'", now, id);
        else if (action === 'disable') run("UPDATE agents SET status = 'disabled' WHERE id = ?", id);
        else if (action === 'enable') run("UPDATE agents SET status = 'active' WHERE id = ?", id);
        else if (action === 'drain') run('UPDATE agents SET drain_requested = 1 WHERE id = ?', id);
        else if (action === 'undrain') run('UPDATE agents SET drain_requested = 0 WHERE id = ?', id);
        else if (action === 'delete') run("UPDATE agents SET status = 'deleted' WHERE id = ?", id);
        else throw problem(400, 'unknown_action', `Unknown agent action "${action}".`);
        ctx.notify(id);
        return agentView(ctx, getAgent(ctx, id)!);
      }),
    listEvents: () =>
      ctx.db
        .prepare<[], { id: number; at: number; kind: string; agent_id: string | null; detail_json: string }>('SELECT * FROM events ORDER BY id')
        .all()
        .map((e) => ({ id: e.id, at: iso(e.at), kind: e.kind, agent_id: e.agent_id, detail: JSON.parse(e.detail_json) as unknown })),
  };
}
export type AdminOps = ReturnType<typeof adminOps>;

/** The admin view of an agent; `online` follows §5.3 (offline after 3 × interval + 15 s, never during failover grace). */
export function agentView(ctx: Ctx, a: AgentRow): Record<string, unknown> {
  const now = ctx.clock.now();
  const inGrace = now < ctx.startedAt + ctx.opts.failoverGraceS * 1000;
  const offlineMs = (3 * ctx.opts.heartbeatIntervalS + 15) * 1000;
  const recent = a.last_seen !== null && now - a.last_seen <= offlineMs;
  const tokens = ctx.db
    .prepare<[string], { id: string; state: string; created_at: number; expires_at: number; first_used_at: number | null }>(
      'SELECT id, state, created_at, expires_at, first_used_at FROM agent_tokens WHERE agent_id = ? ORDER BY created_at',
    )
    .all(a.id);
  return {
    agent_id: a.id,
    instance_id: a.instance_id,
    hostname: a.hostname,
    status: a.status,
    online: a.status === 'active' && a.final_at === null && (recent || (inGrace && a.last_seen !== null)),
    last_seen: iso(a.last_seen),
    heartbeat_state: a.hb_state,
    heartbeats: a.hb_count,
    agent_version: a.agent_version,
    labels: JSON.parse(a.labels_json) as unknown,
    capabilities: JSON.parse(a.capabilities_json) as unknown,
    possible_clone: a.possible_clone === 1,
    clock_skew_ms: a.clock_skew_ms,
    registered_at: iso(a.registered_at),
    rotate_requested: a.rotate_requested === 1,
    drain_requested: a.drain_requested === 1,
    last_heartbeat: a.last_heartbeat_json ? (JSON.parse(a.last_heartbeat_json) as unknown) : null,
    tokens: tokens.map((t) => ({
      token_id: t.id,
      state: t.state,
      created_at: iso(t.created_at),
      expires_at: iso(t.expires_at),
      first_used_at: iso(t.first_used_at),
    })),
  };
}
