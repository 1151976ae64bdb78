import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { agentFor, call, registerAgent } from './agent-wire.js';
import { claimedBackup } from './scenario-helpers.js';
import { sleep } from '../../helpers/wait.js';

let orch: ReferenceOrchestrator | undefined;
afterEach(async () => {
  await orch?.stop();
  orch = undefined;
});

async function start(options = {}): Promise<ReferenceOrchestrator> {
  orch = await startReferenceOrchestrator(tempDir(), { options });
  return orch;
}

describe('registration and enrollment (§5.1)', () => {
  it('a replayed register returns the same agent, a fresh token, and revokes the unused first token', async () => {
    const o = await start();
    const enr = await o.admin.createEnrollmentToken();
    expect(enr.token).toMatch(/^bke_[0-9A-Z]{26}\.[A-Za-z0-9_-]{43}$/);
    const body = { instance_id: randomUUID(), hostname: 'h', capabilities: ['task:backup'] };
    const first = await call(o.url, 'POST', '/register', { token: enr.token, key: `reg:${body.instance_id}`, body });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      protocol: { min: 1, max: 1 },
      token_expires_in_s: 7776000,
      token_rotate_after_s: 2592000,
      config: { heartbeat_interval_s: 30, lease_ttl_s: 120 },
    });
    const replay = await call(o.url, 'POST', '/register', { token: enr.token, key: `reg:${body.instance_id}`, body });
    expect(replay.status).toBe(200);
    expect(replay.json.agent_id).toBe(first.json.agent_id);
    expect(replay.json.agent_token).not.toBe(first.json.agent_token);
    expect((await call(o.url, 'POST', '/heartbeat', { token: first.json.agent_token, body: {} })).json.code).toBe('token_revoked');
    expect((await call(o.url, 'POST', '/heartbeat', { token: replay.json.agent_token, body: {} })).status).toBe(200);
    // The single use is spent: another instance cannot enroll with it.
    const other = await call(o.url, 'POST', '/register', { token: enr.token, key: 'reg:x', body: { instance_id: 'other' } });
    expect(other.status).toBe(401);
    expect(other.json.code).toBe('enrollment_invalid');
  });

  it('rejects bad, expired and host-bound enrollment tokens and too-old agents', async () => {
    const o = await start({ minAgentVersion: '1.2.0' });
    const bad = await call(o.url, 'POST', '/register', { token: 'bke_nope.nope', key: 'reg:1', body: { instance_id: '1' } });
    expect(bad.json.code).toBe('enrollment_invalid');
    const bound = await o.admin.createEnrollmentToken({ hostname: 'alice' });
    const scope = await call(o.url, 'POST', '/register', {
      token: bound.token,
      key: 'reg:2',
      body: { instance_id: '2', hostname: 'bob', agent_version: '1.3.0' },
    });
    expect(scope.status).toBe(403);
    expect(scope.json.code).toBe('enrollment_scope');
    const old = await call(o.url, 'POST', '/register', {
      token: bound.token,
      key: 'reg:3',
      body: { instance_id: '3', hostname: 'alice', agent_version: '1.1.9' },
    });
    expect(old.status).toBe(426);
    expect(old.json).toMatchObject({ code: 'agent_upgrade_required', min_version: '1.2.0' });
    const expired = await o.admin.createEnrollmentToken({ ttl_s: 0 });
    expect((await call(o.url, 'POST', '/register', { token: expired.token, key: 'reg:4', body: { instance_id: '4' } })).json.code).toBe('enrollment_invalid');
  });
});

describe('bad input → spec’d problem bodies', () => {
  it('malformed JSON, wrong types, missing Idempotency-Key, bad gzip, huge bodies, wrong method, bad query', async () => {
    const o = await start({ maxBodyBytes: 64 * 1024 });
    const a = await registerAgent(o);
    const json = await call(o.url, 'POST', '/heartbeat', { token: a.token, rawBody: '{"seq": 1,' });
    expect(json.status).toBe(400);
    expect(json.json).toMatchObject({ code: 'invalid_json', status: 400 });
    const types = await call(o.url, 'POST', '/tasks/tsk_x/status', {
      token: a.token,
      key: 'st:x:1',
      body: { lease_id: 5, status_seq: 'one', state: 'running' },
    });
    expect(types.status).toBe(400);
    expect(types.json.code).toBe('invalid_request');
    expect(types.json.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['lease_id', 'status_seq']));
    const noKey = await call(o.url, 'POST', '/logs', { token: a.token, body: {} });
    expect(noKey.json.code).toBe('idempotency_key_missing');
    const gz = await call(o.url, 'POST', '/heartbeat', { token: a.token, rawBody: Buffer.from('not gzip'), headers: { 'content-encoding': 'gzip' } });
    expect(gz.json.code).toBe('invalid_encoding');
    const huge = await call(o.url, 'POST', '/heartbeat', { token: a.token, rawBody: JSON.stringify({ pad: 'x'.repeat(200 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(huge.json.code).toBe('payload_too_large');
    // A gzip bomb: small on the wire, too large decoded.
    const bomb = gzipSync(JSON.stringify({ pad: 'x'.repeat(20 * 1024 * 1024) }));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const boom = await call(o.url, 'POST', '/heartbeat', { token: a.token, rawBody: bomb, headers: { 'content-encoding': 'gzip' } });
    expect(boom.status).toBe(413);
    const method = await call(o.url, 'GET', '/heartbeat', { token: a.token });
    expect(method.status).toBe(405);
    const query = await call(o.url, 'GET', '/tasks?wait=soon', { token: a.token });
    expect(query.json).toMatchObject({ code: 'invalid_request', errors: [{ field: 'wait' }] });
    // Unknown fields are ignored (tolerant reader).
    expect((await call(o.url, 'POST', '/heartbeat', { token: a.token, body: { future_field: { x: 1 } } })).status).toBe(200);
    // Gzip bodies are accepted on every POST.
    expect((await call(o.url, 'POST', '/heartbeat', { token: a.token, body: { seq: 9 }, gzip: true })).status).toBe(200);
  });
});

describe('idempotency (§4) and status_seq rules (§5.5.3)', () => {
  it('replays are duplicates, key reuse with another body is 422, concurrent reuse is 409 in flight', async () => {
    const o = await start();
    const { agent, taskId, leaseId } = await claimedBackup(o);
    const doc = { lease_id: leaseId, attempt: 1, status_seq: 3, state: 'running', progress: { percent: 0.1 } };
    expect((await agent.status(taskId, doc)).json).toMatchObject({ applied: true, duplicate: false });
    expect((await agent.status(taskId, doc)).json).toMatchObject({ applied: false, duplicate: true, task_state: 'running' });
    const reused = await call(o.url, 'POST', `/tasks/${taskId}/status`, {
      token: agent.token,
      key: `st:${leaseId}:3`,
      body: { ...doc, progress: { percent: 0.9 } },
    });
    expect(reused.status).toBe(422);
    expect(reused.json.code).toBe('idempotency_key_reused');

    // Same key while the first request's body is still arriving → 409 idempotency_in_flight.
    const key = `st:${leaseId}:4`;
    const body = JSON.stringify({ ...doc, status_seq: 4 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowBody(): AsyncGenerator<Buffer> {
      yield Buffer.from(body.slice(0, 10));
      await gate;
      yield Buffer.from(body.slice(10));
    }
    const slow = request(`${o.url}/api/v1/agent/tasks/${taskId}/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'idempotency-key': key, 'content-type': 'application/json' },
      body: Readable.from(slowBody()),
    });
    await sleep(150);
    const second = await call(o.url, 'POST', `/tasks/${taskId}/status`, { token: agent.token, key, rawBody: body });
    expect(second.status).toBe(409);
    expect(second.json.code).toBe('idempotency_in_flight');
    release();
    const first = await slow;
    expect(first.statusCode).toBe(200);
    expect(((await first.body.json()) as { applied: boolean }).applied).toBe(true);
  });

  it('lower seq is stale, backward moves are stale, terminal is absorbing, a replayed terminal is a duplicate', async () => {
    const o = await start();
    const { agent, taskId, leaseId } = await claimedBackup(o);
    const s = (seq: number, state: string, extra = {}) => agent.status(taskId, { lease_id: leaseId, attempt: 1, status_seq: seq, state, ...extra });
    expect((await s(7, 'running')).json.applied).toBe(true);
    expect((await s(5, 'running')).json).toMatchObject({ applied: false, stale: true, task_state: 'running' });
    expect((await s(8, 'claimed')).json).toMatchObject({ applied: false, stale: true, task_state: 'running' });
    const terminal = { log_seq: 0, result: { exit_code: 0, error: null } };
    expect((await s(9, 'succeeded', terminal)).json).toMatchObject({ applied: true, task_state: 'succeeded' });
    expect((await s(9, 'succeeded', terminal)).json).toMatchObject({ duplicate: true, task_state: 'succeeded' });
    expect((await s(10, 'running')).json).toMatchObject({ stale: true, task_state: 'succeeded' });
    expect((await s(11, 'failed')).json).toMatchObject({ stale: true, task_state: 'succeeded' });
    const view = await o.admin.getTask(taskId);
    expect(view.attempts[0]!.agent_state).toBe('succeeded');
    expect(view.attempts[0]!.reports.map((r) => `${r.status_seq}:${r.outcome}`)).toEqual([
      '1:applied',
      '2:applied',
      '7:applied',
      '5:stale',
      '8:stale',
      '9:applied',
      '10:stale',
      '11:stale',
    ]);
  });

  it('an unknown reported state counts as a failure; another agent’s task is 404', async () => {
    const o = await start();
    const { agent, taskId, leaseId } = await claimedBackup(o);
    const intruder = await registerAgent(o);
    const r = await intruder.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'running' });
    expect(r.status).toBe(404);
    expect(r.json.code).toBe('task_not_found');
    expect((await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'exploded' })).json.task_state).toBe('failed');
  });
});

describe('logs (§5.6)', () => {
  it('acks contiguous batches, dedupes replays, answers a gap with 409 log_gap + expected_seq, and rejects holes', async () => {
    const o = await start();
    const { agent, taskId, leaseId } = await claimedBackup(o);
    expect((await agent.logs(leaseId, taskId, 1, 100)).json.ack_seq).toBe(100);
    // Batch 3 is lost; batch 4 arrives.
    const gap = await agent.logs(leaseId, taskId, 201, 100);
    expect(gap.status).toBe(409);
    expect(gap.json).toMatchObject({ code: 'log_gap', expected_seq: 101, status: 409 });
    // The agent rewinds and resends 3 then 4; a replay of batch 2 leaves the ack unchanged.
    expect((await agent.logs(leaseId, taskId, 101, 100)).json.ack_seq).toBe(200);
    expect((await agent.logs(leaseId, taskId, 201, 100)).json.ack_seq).toBe(300);
    const replay = await agent.logs(leaseId, taskId, 101, 100);
    expect(replay.json.ack_seq).toBe(300);
    // Overlapping batch: only the new tail is appended.
    expect((await agent.logs(leaseId, taskId, 251, 100)).json.ack_seq).toBe(350);
    const hole = await call(o.url, 'POST', '/logs', {
      token: agent.token,
      key: 'log:hole',
      body: { stream: { kind: 'task', task_id: taskId, lease_id: leaseId }, first_seq: 351, entries: [{ seq: 351 }, { seq: 353 }] },
    });
    expect(hole.status).toBe(400);
    const logs = await o.admin.getLogs(taskId);
    const seqs = logs.attempts[0]!.entries.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    // Agent diagnostics stream.
    const diag = await call(o.url, 'POST', '/logs', {
      token: agent.token,
      key: 'log:agent:1-1',
      body: { stream: { kind: 'agent', boot_id: agent.bootId }, first_seq: 1, entries: [{ seq: 1, msg: 'hi' }] },
    });
    expect(diag.json.ack_seq).toBe(1);
  });

  it('truncates past log_max_bytes_per_task and then accepts the tail and final', async () => {
    const o = await start({ logMaxBytesPerTask: 2000 });
    const { agent, taskId, leaseId } = await claimedBackup(o);
    const first = await agent.logs(leaseId, taskId, 1, 50);
    expect(first.json).toMatchObject({ ack_seq: 50, truncated: true });
    const tail = await agent.logs(leaseId, taskId, 901, 10, { final: true });
    expect(tail.json).toMatchObject({ ack_seq: 910, truncated: true });
    const logs = await o.admin.getLogs(taskId);
    expect(logs.attempts[0]).toMatchObject({ truncated: true, final: true, hwm: 910 });
    expect(logs.attempts[0]!.dropped).toBeGreaterThan(850);
    expect(logs.attempts[0]!.entries.at(-1)!.seq).toBe(910);
  });
});

describe('agent identity', () => {
  it('a cloned agent (two interleaving boot ids) gets 409 instance_conflict; a restart does not', async () => {
    const o = await start();
    const a = await registerAgent(o);
    expect((await a.hb()).status).toBe(200);
    const restarted = agentFor(o, a.agentId, a.token);
    expect((await restarted.hb()).status).toBe(200); // new boot, old one silent: a restart
    const clone = agentFor(o, a.agentId, a.token);
    expect((await clone.hb()).status).toBe(200);
    expect((await restarted.hb()).status).toBe(200); // the older boot beats again: interleaving
    const c = await clone.hb();
    expect(c.status).toBe(409);
    expect(c.json.code).toBe('instance_conflict');
    expect((await clone.poll(0, 1)).json.code).toBe('instance_conflict');
    expect((await restarted.hb()).status).toBe(200);
    expect((await o.admin.listEvents()).map((e) => e.kind)).toContain('instance_conflict');
  });
});
