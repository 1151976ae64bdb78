import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the restic-monitor server's agent API, built from docs/spec/restic-monitor-api.md §1–§2 (not from
 * our client): root paths, one global credential, claim-on-GET, snake_case tasks, ack from any state,
 * task-results with the server's retry/backoff logic (and NO enforcement of next_retry_at), logs appended in
 * ≤ 1 MiB chunks, the three error body shapes. Admin methods let tests queue tasks, read results and simulate
 * outages, restarts and a lost tenant.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHUNK = 1024 * 1024;
const NON_RETRYABLE = ['permission denied', 'access denied', 'unauthorized', 'forbidden', 'not found', 'invalid repository', 'authentication failed'];

export interface FakeAgent {
  id: string;
  hostname: string;
  os: string;
  arch: string;
  version: string;
  status: 'online' | 'offline';
  lastSeenAt: number;
  lastBackupStatus: string | null;
  uptimeSeconds: number | null;
  disks: unknown[] | null;
  metadata: unknown;
  heartbeats: number;
}

/** A task row, in the server's snake_case wire shape (plus internal fields). */
export interface FakeTask {
  id: string;
  tenant_id: string;
  agent_id: string;
  policy_id: string;
  task_type: string;
  status: 'pending' | 'assigned' | 'in-progress' | 'completed' | 'failed';
  repository: string;
  include_paths?: { paths: string[] };
  exclude_paths?: { patterns: string[] };
  retention?: Record<string, number | string>;
  scheduled_for?: string;
  assigned_at?: string;
  acknowledged_at?: string;
  started_at?: string;
  completed_at?: string;
  retry_count: number;
  max_retries: number;
  next_retry_at?: string;
  last_error_category?: string;
  created_at: string;
  updated_at: string;
  /** How many times a GET handed this task out (a test's view; not on the wire). */
  handedOut: number;
}

export interface FakeRun {
  id: string;
  agentId: string;
  policyId: string;
  status: string;
  durationSeconds: number;
  snapshotId: string | null;
  errorMessage: string | null;
  logChunks: string[];
  submissions: number;
}

export interface FakeRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
  status: number;
}

export interface FakeServerOptions {
  /** `AUTH_TOKEN`: Bearer credential required on protected paths. */
  token?: string;
  /** `AUTH_USERNAME` / `AUTH_PASSWORD`. */
  basic?: { username: string; password: string };
  /** Base of the failure backoff (upstream: 5 s). */
  retryBaseSeconds?: number;
  nextTaskCheckAfterSeconds?: number;
}

/** Go's time.Time JSON: RFC 3339 with up to 9 fractional digits. */
export function goTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', `${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}Z`);
}

export class FakeResticMonitorServer {
  readonly tenantId = randomUUID();
  readonly agents = new Map<string, FakeAgent>();
  readonly tasks = new Map<string, FakeTask>();
  readonly runs = new Map<string, FakeRun>();
  readonly requests: FakeRequest[] = [];
  /** Every time a GET handed a task out, with the next_retry_at it carried (the server does not wait for it). */
  readonly handouts: Array<{ taskId: string; at: number; nextRetryAt: string | null; retryCount: number }> = [];
  nextTaskCheckAfterSeconds: number;
  /** Test hook: called right after an ack was answered (e.g. to take the server down while restic runs). */
  onAck: ((taskId: string) => void) | null = null;
  #server: Server;
  #port = 0;
  #down = false;

  private constructor(private readonly opts: FakeServerOptions) {
    this.nextTaskCheckAfterSeconds = opts.nextTaskCheckAfterSeconds ?? 30;
    this.#server = this.#make();
  }

  /** Starts a fake on 127.0.0.1 with a free port. */
  static async start(opts: FakeServerOptions = {}): Promise<FakeResticMonitorServer> {
    const s = new FakeResticMonitorServer(opts);
    await s.#listen(0);
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  // ---- admin handle ----------------------------------------------------------------------------------

  /** Queues a pending task for an agent, as the scheduler would (repository/paths/retention copied from a policy). */
  queueTask(t: {
    agentId: string;
    type: string;
    repository: string;
    policyId?: string;
    includePaths?: string[];
    excludePatterns?: string[];
    retention?: Record<string, number | string>;
    maxRetries?: number;
  }): FakeTask {
    const now = Date.now();
    const task: FakeTask = {
      id: randomUUID(),
      tenant_id: this.tenantId,
      agent_id: t.agentId,
      policy_id: t.policyId ?? randomUUID(),
      task_type: t.type,
      status: 'pending',
      repository: t.repository,
      ...(t.includePaths ? { include_paths: { paths: t.includePaths } } : {}),
      ...(t.excludePatterns ? { exclude_paths: { patterns: t.excludePatterns } } : {}),
      ...(t.retention ? { retention: t.retention } : {}),
      retry_count: 0,
      max_retries: t.maxRetries ?? 3,
      created_at: goTime(now),
      updated_at: goTime(now),
      handedOut: 0,
    };
    this.tasks.set(task.id, task);
    return task;
  }

  /** The log the server stored for a run (chunks concatenated, as `GET …/backup-runs/{id}` would show). */
  runLog(taskId: string): string {
    return this.runs.get(taskId)?.logChunks.join('') ?? '';
  }

  /** Outage: stop listening and cut open connections (clients see ECONNREFUSED / resets). */
  async goDown(): Promise<void> {
    if (this.#down) return;
    this.#down = true;
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  /** Back from an outage (or a restart with its DB intact) on the same port. */
  async comeBack(): Promise<void> {
    if (!this.#down) return;
    this.#server = this.#make();
    await this.#listen(this.#port);
    this.#down = false;
  }

  /** A restart with `store.New()`: a random tenant, so every agent becomes invisible (heartbeat → 404). */
  loseAgents(): void {
    this.agents.clear();
  }

  async close(): Promise<void> {
    if (!this.#down) {
      this.#server.closeAllConnections();
      await new Promise<void>((r) => this.#server.close(() => r()));
    }
    this.#down = true;
  }

  // ---- HTTP ------------------------------------------------------------------------------------------

  #make(): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const origEnd = res.end.bind(res);
        const rec: FakeRequest = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? null, body, status: 0 };
        this.requests.push(rec);
        res.end = ((...args: Parameters<typeof res.end>) => {
          rec.status = res.statusCode;
          return origEnd(...args);
        }) as typeof res.end;
        this.#route(req, res, body);
      });
    });
  }

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  #route(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (method === 'OPTIONS') return void res.writeHead(200).end();
    const protectedPath = path.startsWith('/api/') || path.startsWith('/agents/') || path === '/agents' || /^\/policies\/?$/.test(path);
    if (protectedPath && !this.#authorised(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Restic Monitor"');
      return text(res, 401, 'Unauthorized');
    }
    if (path === '/agents/register') return method === 'POST' ? this.#register(res, body) : text(res, 405, 'Method not allowed');
    if (path.startsWith('/agents/') && !path.includes('/policies/') && !path.includes('/backup-runs')) {
      const seg = path.replace(/^\/+|\/+$/g, '').split('/');
      const id = seg[1] ?? '';
      if (seg.length === 3 && seg[2] === 'heartbeat') return method === 'POST' ? this.#heartbeat(res, id, body) : text(res, 405, 'Method not allowed');
      if (seg.length === 3 && seg[2] === 'tasks' && method === 'GET') {
        // handleGetAgentTasks strips only "/tasks": a trailing slash leaves an invalid id.
        if (path.endsWith('/')) return text(res, 400, 'Invalid agent ID');
        return this.#poll(res, id, url.searchParams.get('limit'));
      }
      if (seg.length === 5 && seg[2] === 'tasks' && seg[4] === 'ack' && method === 'POST') return this.#ack(res, id, seg[3] ?? '');
      if (seg.length === 3 && seg[2] === 'task-results' && method === 'POST') return this.#result(res, id, body);
    }
    return text(res, 404, '404 page not found');
  }

  #authorised(h: string | undefined): boolean {
    const { token, basic } = this.opts;
    if (!token && !basic) return true;
    if (token && h === `Bearer ${token}`) return true;
    if (basic && h?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
      return u === basic.username && p.join(':') === basic.password;
    }
    return false;
  }

  #register(res: ServerResponse, body: string): void {
    const d = decode(body, { hostname: 'string', os: 'string', arch: 'string', version: 'string', ip: 'string', metadata: 'object' });
    if (typeof d === 'string') return json(res, 400, { error: 'Invalid request body', details: d });
    const errs: string[] = [];
    for (const [k, max] of [
      ['hostname', 255],
      ['os', 50],
      ['arch', 50],
      ['version', 50],
    ] as const) {
      const v = typeof d[k] === 'string' ? (d[k] as string).trim() : '';
      if (!v) errs.push(`${k} is required and cannot be empty`);
      else if (v.length > max) errs.push(`${k} must not exceed ${max} characters`);
    }
    if (errs.length) return json(res, 400, { error: 'Validation failed', details: errs.join('; ') });
    const now = Date.now();
    const existing = [...this.agents.values()].find((a) => a.hostname === d.hostname);
    if (existing) {
      Object.assign(existing, { os: d.os, arch: d.arch, version: d.version, status: 'online', lastSeenAt: now });
      if (d.metadata !== undefined) existing.metadata = d.metadata;
      return json(res, 200, {
        agentId: existing.id,
        hostname: existing.hostname,
        registeredAt: goTime(now).replace(/\.\d+/, ''),
        updatedAt: goTime(now),
        message: 'Agent metadata updated',
      });
    }
    const a: FakeAgent = {
      id: randomUUID(),
      hostname: d.hostname as string,
      os: d.os as string,
      arch: d.arch as string,
      version: d.version as string,
      status: 'online',
      lastSeenAt: now,
      lastBackupStatus: null,
      uptimeSeconds: null,
      disks: null,
      metadata: d.metadata ?? null,
      heartbeats: 0,
    };
    this.agents.set(a.id, a);
    json(res, 201, { agentId: a.id, hostname: a.hostname, registeredAt: goTime(now), updatedAt: goTime(now), message: 'Agent registered successfully' });
  }

  #heartbeat(res: ServerResponse, id: string, body: string): void {
    if (!UUID.test(id)) return json(res, 400, { error: 'Invalid agent ID', details: 'Agent ID must be a valid UUID' });
    const d = decode(body, {
      version: 'string',
      os: 'string',
      uptimeSeconds: 'int',
      disks: 'array',
      lastBackupStatus: 'string',
      currentTasksCount: 'int',
      availableSlots: 'int',
    });
    if (typeof d === 'string') return json(res, 400, { error: 'Invalid request body', details: d });
    const errs: string[] = [];
    for (const k of ['version', 'os'] as const) {
      const v = typeof d[k] === 'string' ? (d[k] as string) : '';
      if (!v.trim()) errs.push(`${k} is required and cannot be empty`);
      else if (v.length > 50) errs.push(`${k} must not exceed 50 characters`);
    }
    if (typeof d.uptimeSeconds === 'number' && d.uptimeSeconds < 0) errs.push('uptimeSeconds must be >= 0');
    if (d.lastBackupStatus !== undefined && !['success', 'failure', 'none', 'running'].includes(d.lastBackupStatus as string)) {
      errs.push('lastBackupStatus must be one of: success, failure, none, running');
    }
    const disks = (d.disks as unknown[] | undefined) ?? [];
    if (disks.length > 100) errs.push('disks array must not exceed 100 items');
    disks.forEach((x, i) => {
      const k = (x ?? {}) as Record<string, unknown>;
      if (typeof k.mountPath !== 'string' || !k.mountPath) errs.push(`disk[${i}]: mountPath is required`);
      if (!Number.isInteger(k.freeBytes) || (k.freeBytes as number) < 0) errs.push(`disk[${i}]: freeBytes must be >= 0`);
      if (!Number.isInteger(k.totalBytes) || (k.totalBytes as number) <= 0) errs.push(`disk[${i}]: totalBytes must be > 0`);
    });
    if (errs.length) return json(res, 400, { error: 'Validation failed', details: errs.join('; ') });
    const a = this.agents.get(id.toLowerCase());
    if (!a) return json(res, 404, { error: 'Agent not found', details: `No agent found with ID: ${id}` });
    Object.assign(a, { version: d.version, os: d.os, status: 'online', lastSeenAt: Date.now(), heartbeats: a.heartbeats + 1 });
    if (typeof d.uptimeSeconds === 'number') a.uptimeSeconds = d.uptimeSeconds;
    if (disks.length) a.disks = disks;
    if (typeof d.lastBackupStatus === 'string') a.lastBackupStatus = d.lastBackupStatus;
    json(res, 200, { status: 'ok', nextTaskCheckAfterSeconds: this.nextTaskCheckAfterSeconds });
  }

  #poll(res: ServerResponse, id: string, limitParam: string | null): void {
    if (!UUID.test(id)) return text(res, 400, 'Invalid agent ID');
    const n = Number(limitParam);
    const limit = limitParam !== null && Number.isInteger(n) && n > 0 ? n : 10;
    // No agent check, no next_retry_at filter: pending → assigned in the same call (the GET is the claim).
    const picked = [...this.tasks.values()]
      .filter((t) => t.agent_id === id.toLowerCase() && t.status === 'pending')
      .sort((a, b) => (a.scheduled_for ?? '').localeCompare(b.scheduled_for ?? '') || a.created_at.localeCompare(b.created_at))
      .slice(0, limit);
    const now = goTime(Date.now());
    for (const t of picked) {
      Object.assign(t, { status: 'assigned', assigned_at: now, updated_at: now, handedOut: t.handedOut + 1 });
      this.handouts.push({ taskId: t.id, at: Date.now(), nextRetryAt: t.next_retry_at ?? null, retryCount: t.retry_count });
    }
    json(res, 200, {
      tasks: picked.map(({ handedOut: _h, ...wire }) => ({ ...wire, retries_remaining: Math.max(0, wire.max_retries - wire.retry_count) })),
    });
  }

  #ack(res: ServerResponse, agentId: string, taskId: string): void {
    if (!UUID.test(agentId)) return text(res, 400, 'Invalid agent ID');
    if (!UUID.test(taskId)) return text(res, 400, 'Invalid task ID');
    const t = this.tasks.get(taskId.toLowerCase());
    if (!t || t.agent_id !== agentId.toLowerCase()) return text(res, 404, 'Task not found');
    const now = goTime(Date.now());
    Object.assign(t, { status: 'in-progress', acknowledged_at: now, started_at: now, updated_at: now }); // no precondition
    json(res, 200, { status: 'acknowledged', message: 'Task acknowledged and started' });
    this.onAck?.(t.id);
  }

  #result(res: ServerResponse, agentId: string, body: string): void {
    const d = decode(body, {
      taskId: 'string',
      policyId: 'string',
      taskType: 'string',
      status: 'string',
      durationSeconds: 'number',
      log: 'string',
      snapshotId: 'string',
      errorMessage: 'string',
    });
    if (typeof d === 'string') return json(res, 400, { error: 'Invalid request body', details: d });
    const errs: string[] = [];
    for (const k of ['taskId', 'policyId', 'taskType', 'status'] as const) if (!d[k]) errs.push(`${k} is required`);
    const duration = (d.durationSeconds as number | undefined) ?? 0;
    if (duration < 0) errs.push('durationSeconds must be >= 0');
    if (errs.length) return json(res, 400, { error: 'Validation failed', details: errs.join('; ') });
    if (!UUID.test(d.taskId as string)) return json(res, 400, { error: 'Invalid task ID', details: 'invalid UUID' });
    if (!UUID.test(d.policyId as string)) return json(res, 400, { error: 'Invalid policy ID', details: 'invalid UUID' });
    if (!this.agents.has(agentId.toLowerCase())) return json(res, 404, { error: 'Agent not found', details: `No agent found with ID: ${agentId}` });
    const taskId = (d.taskId as string).toLowerCase();
    const run = this.runs.get(taskId) ?? {
      id: taskId,
      agentId,
      policyId: d.policyId as string,
      status: '',
      durationSeconds: 0,
      snapshotId: null,
      errorMessage: null,
      logChunks: [],
      submissions: 0,
    };
    Object.assign(run, {
      status: d.status,
      durationSeconds: duration,
      snapshotId: d.snapshotId ?? null,
      errorMessage: d.errorMessage ?? null,
      submissions: run.submissions + 1,
    });
    this.runs.set(taskId, run);
    const log = (d.log as string | undefined) ?? '';
    for (let i = 0; i < log.length; i += CHUNK) run.logChunks.push(log.slice(i, i + CHUNK)); // appended, every submission
    this.#retryState(taskId, d.status as string, (d.errorMessage as string | undefined) ?? '');
    json(res, 200, { status: 'ok' });
  }

  #retryState(taskId: string, status: string, errorMessage: string): void {
    const t = this.tasks.get(taskId); // no ownership check; a missing task is only logged upstream
    if (!t) return;
    const now = Date.now();
    if (status === 'success' || status === 'completed') {
      Object.assign(t, { status: 'completed', completed_at: goTime(now), next_retry_at: undefined, last_error_category: undefined });
    } else if (status === 'failure' || status === 'failed') {
      const msg = errorMessage.toLowerCase();
      const retryable = !NON_RETRYABLE.some((p) => msg.includes(p));
      t.last_error_category = category(msg);
      if (retryable && t.retry_count < t.max_retries) {
        t.retry_count += 1;
        const base = (this.opts.retryBaseSeconds ?? 5) * 1000 * 2 ** (t.retry_count - 1);
        const delay = Math.min(base, 300_000) * (0.5 + Math.random()); // ±50 % jitter
        Object.assign(t, { status: 'pending', next_retry_at: goTime(now + delay) });
      } else {
        Object.assign(t, { status: 'failed', completed_at: goTime(now) });
      }
    }
    t.updated_at = goTime(now);
  }
}

function category(msg: string): string {
  if (/timeout|connection refused|network/.test(msg)) return 'network';
  if (/locked|temporarily unavailable/.test(msg)) return 'transient';
  if (/permission denied|access denied|forbidden/.test(msg)) return 'permission';
  if (/not found|invalid repository/.test(msg)) return 'repository';
  return 'unknown';
}

type Kind = 'string' | 'int' | 'number' | 'array' | 'object';

/** Go encoding/json into a struct: case-insensitive keys, unknown keys ignored, ints must be integers. */
function decode(body: string, fields: Record<string, Kind>): Record<string, unknown> | string {
  if (body.trim() === '') return 'EOF';
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    return (e as Error).message;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'json: cannot unmarshal into Go value of type struct';
  const out: Record<string, unknown> = {};
  const lower = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
  for (const [k, val] of Object.entries(v)) {
    const name = lower.get(k.toLowerCase());
    if (!name || val === null) continue;
    const kind = fields[name];
    const ok =
      (kind === 'string' && typeof val === 'string') ||
      (kind === 'int' && Number.isInteger(val)) ||
      (kind === 'number' && typeof val === 'number') ||
      (kind === 'array' && Array.isArray(val)) ||
      (kind === 'object' && typeof val === 'object');
    if (!ok) return `json: cannot unmarshal ${JSON.stringify(val)} into Go struct field .${name}`;
    out[name] = val;
  }
  return out;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, msg: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(`${msg}\n`);
}
