/** Plain-HTTP agent calls for the orchestrator tests (no agent code: the server is tested on the wire). */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';

/** One HTTP answer. */
export interface WireResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary fields
  json: any;
}

/** Options of one call. */
export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  rawBody?: string | Buffer;
  key?: string | undefined;
  gzip?: boolean;
  headers?: Record<string, string>;
}

/** Calls `path` (relative to `/api/v1/agent`) on `base`. */
export async function call(base: string, method: 'GET' | 'POST', path: string, o: CallOptions = {}): Promise<WireResponse> {
  let payload: string | Buffer | undefined = o.rawBody ?? (o.body !== undefined ? JSON.stringify(o.body) : undefined);
  const headers: Record<string, string> = { 'agent-protocol': '1', 'x-request-id': randomUUID(), ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.key) headers['idempotency-key'] = o.key;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    if (o.gzip) {
      payload = gzipSync(payload);
      headers['content-encoding'] = 'gzip';
    }
  }
  const res = await request(`${base}/api/v1/agent${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

/** A registered test agent: its ids, token and small helpers for the common calls. */
export interface TestAgent {
  agentId: string;
  token: string;
  instanceId: string;
  bootId: string;
  hb(running?: Array<{ task_id: string; lease_id: string; state?: string }>, extra?: Record<string, unknown>): Promise<WireResponse>;
  poll(wait: number, capacity: number): Promise<WireResponse>;
  status(taskId: string, doc: Record<string, unknown>): Promise<WireResponse>;
  logs(leaseId: string, taskId: string, firstSeq: number, count: number, extra?: Record<string, unknown>): Promise<WireResponse>;
}

/** Enrolls and registers a fresh agent against `orch`. */
export async function registerAgent(orch: ReferenceOrchestrator, extra: Record<string, unknown> = {}): Promise<TestAgent> {
  const enr = await orch.admin.createEnrollmentToken();
  const instanceId = randomUUID();
  const r = await call(orch.url, 'POST', '/register', {
    token: enr.token,
    key: `reg:${instanceId}`,
    body: {
      instance_id: instanceId,
      hostname: 'test-host',
      agent_version: '1.0.0',
      protocol: 1,
      capabilities: ['task:backup', 'task:check', 'task:prune', 'task:forget'],
      ...extra,
    },
  });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`);
  return agentFor(orch, r.json.agent_id as string, r.json.agent_token as string, instanceId);
}

/** Helpers bound to an agent identity (token may be swapped by the caller). */
export function agentFor(orch: ReferenceOrchestrator, agentId: string, token: string, instanceId = 'n/a'): TestAgent {
  const bootId = randomUUID();
  let hbSeq = 0;
  const a: TestAgent = {
    agentId,
    token,
    instanceId,
    bootId,
    hb: (running = [], extra = {}) =>
      call(orch.url, 'POST', '/heartbeat', {
        token: a.token,
        headers: { 'agent-boot-id': bootId, 'agent-id': agentId },
        body: { seq: ++hbSeq, boot_id: bootId, sent_at: new Date().toISOString(), state: running.length ? 'busy' : 'idle', running, ...extra },
      }),
    poll: (wait, capacity) => call(orch.url, 'GET', `/tasks?wait=${wait}&capacity=${capacity}`, { token: a.token, headers: { 'agent-boot-id': bootId } }),
    status: (taskId, doc) =>
      call(orch.url, 'POST', `/tasks/${taskId}/status`, { token: a.token, key: `st:${String(doc.lease_id)}:${String(doc.status_seq)}`, body: doc }),
    logs: (leaseId, taskId, firstSeq, count, extra = {}) =>
      call(orch.url, 'POST', '/logs', {
        token: a.token,
        key: `log:${leaseId}:${firstSeq}-${firstSeq + count - 1}`,
        gzip: true,
        body: {
          stream: { kind: 'task', task_id: taskId, lease_id: leaseId },
          first_seq: firstSeq,
          entries: Array.from({ length: count }, (_, i) => ({
            seq: firstSeq + i,
            ts: new Date(1_777_000_000_000 + (firstSeq + i) * 10).toISOString(),
            src: 'restic.stderr',
            level: 'info',
            msg: `line ${firstSeq + i}`,
          })),
          final: false,
          ...extra,
        },
      }),
  };
  return a;
}
