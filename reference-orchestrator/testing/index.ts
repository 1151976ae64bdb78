/**
 * Test and demo helper: a reference orchestrator on loopback with a typed admin client over its `/admin` HTTP API,
 * and stop/restart on the same port and database (for "server restart mid-task" scenarios).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { request } from 'undici';
import type { Clock, OrchestratorOptions } from '../options.js';
import type { Orchestrator } from '../server.js';
import { createOrchestrator } from '../server.js';

/** One attempt (lease) of a task as the admin API shows it. */
export interface AdminAttemptView {
  lease_id: string;
  attempt: number;
  agent_id: string;
  /** offered | offer_expired | claimed | running | cancelling | succeeded | failed | cancelled | timed_out | rejected | unknown | lost */
  state: string;
  agent_state: string | null;
  status_seq: number;
  late: boolean;
  reason: string | null;
  offered_at: string;
  claimed_at: string | null;
  finished_at: string | null;
  lease_expires_at: string | null;
  params: Record<string, unknown>;
  status: Record<string, unknown> | null;
  log: { hwm: number; final: boolean; truncated: boolean; dropped: number; terminal_log_seq: number | null; complete: boolean };
  reports: Array<{ status_seq: number; state: string; outcome: 'applied' | 'stale' | 'superseded'; received_at: string }>;
}

/** A task as the admin API shows it (repo secrets redacted). */
export interface AdminTaskView {
  task_id: string;
  agent_id: string | null;
  type: 'backup' | 'check' | 'prune' | 'forget';
  /** pending | pending_retry | offered | claimed | running | cancelling | unknown | lost | succeeded | failed | cancelled | timed_out | rejected | deleted */
  state: string;
  params: Record<string, unknown>;
  repo: Record<string, unknown> | null;
  attempt: number;
  current_lease_id: string | null;
  next_attempt_at: string | null;
  cancel_requested: boolean;
  cancel_reason: string | null;
  deleted: boolean;
  result: Record<string, unknown> | null;
  attempts: AdminAttemptView[];
  created_at: string;
  updated_at: string;
}

/** Stored logs of a task, one stream per claimed attempt. */
export interface AdminLogsView {
  task_id: string;
  attempts: Array<AdminAttemptView['log'] & { lease_id: string; attempt: number; entries: Array<Record<string, unknown> & { seq: number }> }>;
}

/** An agent as the admin API shows it. */
export interface AdminAgentView {
  agent_id: string;
  instance_id: string;
  hostname: string | null;
  status: 'active' | 'disabled' | 'deleted';
  online: boolean;
  last_seen: string | null;
  heartbeat_state: string | null;
  heartbeats: number;
  labels: Record<string, string>;
  capabilities: string[];
  possible_clone: boolean;
  clock_skew_ms: number | null;
  tokens: Array<{
    token_id: string;
    state: 'active' | 'pending' | 'superseded' | 'revoked';
    created_at: string;
    expires_at: string;
    first_used_at: string | null;
  }>;
  [k: string]: unknown;
}

/** Extra fields of a task beyond agent, type and params. */
export interface TaskExtras {
  repo?: { repo_id?: string; url: string; env?: Record<string, string>; password?: string; credentials_expire_in_s?: number } | null;
  max_runtime_s?: number;
  lost_after_s?: number;
  cancel_grace_s?: number;
}

/** Typed client of `/admin/*`. */
export interface AdminClient {
  createEnrollmentToken(spec?: {
    ttl_s?: number;
    max_uses?: number;
    labels?: Record<string, string>;
    allowed_types?: string[];
    hostname?: string;
  }): Promise<{ id: string; token: string; expires_at: string; max_uses: number }>;
  revokeEnrollmentToken(id: string): Promise<unknown>;
  createTask(agentId: string | null, type: AdminTaskView['type'], params: Record<string, unknown>, extras?: TaskExtras): Promise<AdminTaskView>;
  getTask(id: string): Promise<AdminTaskView>;
  listTasks(agentId?: string): Promise<AdminTaskView[]>;
  getLogs(taskId: string): Promise<AdminLogsView>;
  cancelTask(id: string, reason?: string): Promise<AdminTaskView>;
  deleteTask(id: string): Promise<unknown>;
  listAgents(): Promise<AdminAgentView[]>;
  getAgent(id: string): Promise<AdminAgentView>;
  /** `rotate-token` | `revoke-tokens` | `disable` | `enable` | `drain` | `undrain` | `delete`. */
  agentAction(id: string, action: string): Promise<AdminAgentView>;
  listEvents(): Promise<Array<{ id: number; at: string; kind: string; agent_id: string | null; detail: Record<string, unknown> }>>;
}

/** Creates an admin client for an orchestrator at `baseUrl`. Non-2xx answers throw with the problem body. */
export function createAdminClient(baseUrl: string, adminToken: string): AdminClient {
  async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await request(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`admin ${method} ${path} → ${res.statusCode}: ${text}`);
    return JSON.parse(text) as T;
  }
  const enc = encodeURIComponent;
  return {
    createEnrollmentToken: (spec = {}) => call('POST', '/admin/enrollment-tokens', spec),
    revokeEnrollmentToken: (id) => call('DELETE', `/admin/enrollment-tokens/${enc(id)}`),
    createTask: (agentId, type, params, extras = {}) => call('POST', '/admin/tasks', { agent_id: agentId, type, params, ...extras }),
    getTask: (id) => call('GET', `/admin/tasks/${enc(id)}`),
    listTasks: (agentId) => call('GET', `/admin/tasks${agentId ? `?agent_id=${enc(agentId)}` : ''}`),
    getLogs: (taskId) => call('GET', `/admin/tasks/${enc(taskId)}/logs`),
    cancelTask: (id, reason) => call('POST', `/admin/tasks/${enc(id)}/cancel`, reason ? { reason } : {}),
    deleteTask: (id) => call('DELETE', `/admin/tasks/${enc(id)}`),
    listAgents: () => call('GET', '/admin/agents'),
    getAgent: (id) => call('GET', `/admin/agents/${enc(id)}`),
    agentAction: (id, action) => call('POST', `/admin/agents/${enc(id)}/${enc(action)}`, {}),
    listEvents: () => call('GET', '/admin/events'),
  };
}

/** A reference orchestrator started for a test or the demo. */
export interface ReferenceOrchestrator {
  /** Server root, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** `url + '/api/v1/agent'`: what an agent is configured with. */
  readonly agentBaseUrl: string;
  readonly port: number;
  readonly dbFile: string;
  readonly adminToken: string;
  readonly admin: AdminClient;
  /** The live server instance (replaced by `restart`). */
  readonly orchestrator: Orchestrator;
  /** Runs expiry/retry transitions now (useful with a manual clock). */
  sweep(): void;
  /** Stops the server (the database stays); safe to call twice. */
  stop(): Promise<void>;
  /** Stops, waits `downMs` (default 0), starts again on the same port and database; the failover grace restarts. */
  restart(downMs?: number): Promise<void>;
}

/** Starts an orchestrator with its database at `<tmpDir>/orchestrator.db` on 127.0.0.1 (random port unless given). */
export async function startReferenceOrchestrator(
  tmpDir: string,
  init: { options?: Partial<OrchestratorOptions>; clock?: Clock; port?: number; dbFile?: string } = {},
): Promise<ReferenceOrchestrator> {
  const dbFile = init.dbFile ?? join(tmpDir, 'orchestrator.db');
  const make = (): Orchestrator => createOrchestrator({ dbFile, ...(init.clock ? { clock: init.clock } : {}), options: { ...init.options, adminToken } });
  const adminToken = init.options?.adminToken ?? `adm_${randomBytes(24).toString('base64url')}`;
  let current = make();
  let running = true;
  const { url, port } = await current.listen(init.port ?? 0, '127.0.0.1');
  return {
    url,
    agentBaseUrl: `${url}/api/v1/agent`,
    port,
    dbFile,
    adminToken,
    admin: createAdminClient(url, adminToken),
    get orchestrator() {
      return current;
    },
    sweep: () => current.sweep(),
    async stop() {
      if (!running) return;
      running = false;
      await current.close();
    },
    async restart(downMs = 0) {
      if (running) await current.close();
      running = false;
      // Let in-process clients see their pooled sockets close before the new server accepts connections.
      await new Promise((r) => setTimeout(r, Math.max(downMs, 20)));
      current = make();
      await current.listen(port, '127.0.0.1');
      running = true;
    },
  };
}
