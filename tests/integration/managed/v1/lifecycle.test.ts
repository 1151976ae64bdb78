import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../../src/main/core/managed/v1/outbox.js';
import type { FakeRun } from './harness.js';
import { REPO, assertInvariants, makeWorld, settled, type World } from './harness.js';
import { agentCall } from './tools.js';
import { holdsFor, sleep, waitFor } from '../../../helpers/wait.js';

/** §12.3 scenarios 12 (races), 15, 16 (variants), 20, 23, 24. */
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const backup = (world: World, extras: Record<string, unknown> = {}) =>
  world.orch.admin.createTask(world.agentId, 'backup', { paths: ['/data'] }, { repo: REPO, ...extras });
const stateOf = async (world: World, id: string) => (await world.orch.admin.getTask(id)).state;
const errorOf = (t: { attempts: Array<{ status: Record<string, unknown> | null }> }, i = 0) =>
  (t.attempts[i]!.status as { result: { error: { code: string; retryable: boolean } | null; incomplete: boolean } }).result;

describe('managed agent: token races (scenario 12)', () => {
  it('12a: crash after `next` was stored, before promotion → on restart `next` is tried first and works', async () => {
    w = await makeWorld({ startAgent: false });
    const old = (await w.secrets.get(w.accounts.current))!;
    const r = await agentCall(w.orch.url, old, 'POST', '/token/rotate', { reason: 'manual' }, { 'idempotency-key': `rot:${w.agentId}:1` });
    expect(r.status).toBe(200);
    await w.secrets.set(w.accounts.next, String(r.json.agent_token));
    await w.startAgent();
    await waitFor(
      'next promoted',
      async () => (await w!.secrets.get(w!.accounts.current)) === r.json.agent_token && (await w!.secrets.get(w!.accounts.next)) === null,
      10_000,
    );
    const tokens = (await w.orch.admin.getAgent(w.agentId)).tokens;
    expect(tokens.map((t) => t.state)).toEqual(['superseded', 'active']);
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded']);
    await assertInvariants(w, [task.task_id]);
  });

  it('12b: a stale copy of the old token used after rotation → 401 token_superseded + security event; the real agent is unaffected', async () => {
    w = await makeWorld({ server: { supersededInFlightS: 0 } });
    const old = (await w.secrets.get(w.accounts.current))!;
    await w.orch.admin.agentAction(w.agentId, 'rotate-token');
    await waitFor('rotated', async () => (await w!.secrets.get(w!.accounts.current)) !== old && (await w!.secrets.get(w!.accounts.next)) === null, 15_000);
    await sleep(50);
    const thief = await agentCall(w.orch.url, old, 'POST', '/heartbeat', { seq: 1, state: 'idle', running: [] });
    expect(thief.status).toBe(401);
    expect(thief.json.code).toBe('token_superseded');
    expect((await w.orch.admin.listEvents()).map((e) => e.kind)).toContain('token_superseded_use');
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded']);
    expect(w.agent.status().auth).toBe('ok');
    await assertInvariants(w, [task.task_id]);
  });

  it('12c: offline past expiry, within the rotation grace → 401 token_expired → rotate with the expired token → normal operation', async () => {
    w = await makeWorld({ startAgent: false, server: { tokenTtlS: 3 } });
    const old = await w.secrets.get(w.accounts.current);
    await sleep(3500);
    expect((await agentCall(w.orch.url, old!, 'POST', '/heartbeat', { seq: 1, running: [] })).json.code).toBe('token_expired');
    await w.startAgent();
    await waitFor('rotated with the expired token', async () => (await w!.secrets.get(w!.accounts.current)) !== old, 10_000);
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded']);
    expect(w.agent.status().auth).not.toBe('suspended');
    await assertInvariants(w, [task.task_id]);
  });

  it('12d: past the rotation grace → suspended, re-enrollment required, no further calls (no crash loop)', async () => {
    w = await makeWorld({ proxy: true, startAgent: false, server: { tokenTtlS: 2, rotationGraceS: 1 } });
    await sleep(3200);
    await w.startAgent();
    await waitFor('suspended', () => w!.agent.status().auth === 'suspended', 10_000);
    expect(w.agent.status().message).toMatch(/re-enroll/);
    const seen = w.proxy!.log.length;
    await holdsFor('no calls after suspension', () => w!.proxy!.log.length === seen, 2500);
  });
});

describe('managed agent: restic failure modes (scenario 15)', () => {
  const cases: Array<{ name: string; plan: Partial<FakeRun>; state: string; code: string | null; retried: boolean; incomplete?: boolean }> = [
    {
      name: 'exit 11 → failed repo_locked (retryable) → the server retries later',
      plan: { outcome: 'locked', exitCode: 11 },
      state: 'succeeded',
      code: 'repo_locked',
      retried: true,
    },
    {
      name: 'exit 12 → failed wrong_password, not retried',
      plan: { outcome: 'wrong-password', exitCode: 12 },
      state: 'failed',
      code: 'wrong_password',
      retried: false,
    },
    { name: 'exit 3 → succeeded incomplete', plan: { outcome: 'partial', exitCode: 3 }, state: 'succeeded', code: null, retried: false, incomplete: true },
    {
      name: 'exit 10 → failed repo_not_found, not retried',
      plan: { outcome: 'no-repo', exitCode: 10 },
      state: 'failed',
      code: 'repo_not_found',
      retried: false,
    },
    {
      name: 'watchdog (no output) → failed stalled',
      plan: { outcome: 'stalled', exitCode: null as unknown as number },
      state: 'failed',
      code: 'stalled',
      retried: false,
    },
    { name: 'unknown exit 42 → failed', plan: { outcome: 'failed', exitCode: 42 }, state: 'failed', code: 'restic_error', retried: false },
  ];
  it.each(cases)('$name', async (c) => {
    w = await makeWorld({ server: { retryDelaysS: [1] } });
    w.executor.plan = { durationMs: 100, logLines: 2, ...c.plan };
    const task = await backup(w);
    if (c.retried) {
      await waitFor('retry scheduled', async () => (await stateOf(w!, task.task_id)) === 'pending_retry', 10_000);
      w.executor.plan = { durationMs: 100, logLines: 2 };
    }
    const done = await settled(w, task.task_id, [c.state], 15_000);
    expect(done.attempts).toHaveLength(c.retried ? 2 : 1);
    expect(done.attempts[0]!.state).toBe(c.code ? 'failed' : 'succeeded');
    expect(errorOf(done).error?.code ?? null).toBe(c.code);
    if (c.incomplete) expect(errorOf(done).incomplete).toBe(true);
    await assertInvariants(w, [task.task_id]);
  });
});

describe('managed agent: cancellation variants (scenario 16)', () => {
  it('cancel while offered → the claim gets 409 task_cancelled, restic never starts', async () => {
    w = await makeWorld({ proxy: true });
    const slow = w.proxy!.addRule({
      method: 'POST',
      path: /\/status$/,
      bodyMatch: (b) => b.includes('"state":"claimed"'),
      action: { kind: 'delay', ms: 1500 },
      times: 1,
    });
    const task = await backup(w);
    await waitFor('claim in flight', () => slow.hits === 1, 10_000);
    await w.orch.admin.cancelTask(task.task_id);
    await waitFor('claim refused', () => w!.proxy!.log.some((e) => e.body.includes('"state":"claimed"') && e.status === 409), 10_000);
    await holdsFor('restic never started', () => w!.executor.audit.length === 0, 500);
    expect(await stateOf(w, task.task_id)).toBe('cancelled');
    await assertInvariants(w, [task.task_id]);
  });

  it('cancel while partitioned, restic already finished → the true result (succeeded) wins', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 1200, logLines: 3 };
    const task = await backup(w);
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = w.proxy!.addRule({ action: { kind: 'drop_request' } });
    await sleep(2500); // the long poll already in flight ends (poll_wait_max_s 2)
    await waitFor('restic done', () => w!.executor.audit[0]?.endedAt, 10_000);
    await w.orch.admin.cancelTask(task.task_id);
    cut.remove();
    const done = await settled(w, task.task_id, ['succeeded'], 20_000);
    expect(done.attempts[0]!.state).toBe('succeeded');
    expect(w.executor.audit[0]!.aborted).toBe(false);
    await assertInvariants(w, [task.task_id]);
  });

  it('cancel while partitioned, restic still running → delivered on reconnect (heartbeat directive) → cancelled', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 30_000, logLines: 3 };
    const task = await backup(w);
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = w.proxy!.addRule({ action: { kind: 'drop_request' } });
    await sleep(2500); // the long poll already in flight ends (poll_wait_max_s 2)
    await w.orch.admin.cancelTask(task.task_id);
    await holdsFor('restic keeps running while the cancel cannot arrive', () => !w!.executor.audit[0]!.aborted, 1500);
    cut.remove();
    const done = await settled(w, task.task_id, ['cancelled'], 15_000);
    expect(w.executor.audit[0]!.aborted).toBe(true);
    expect(done.attempts[0]!.state).toBe('cancelled');
    await assertInvariants(w, [task.task_id]);
  });
});

describe('managed agent: shutdown, deletion, oversized logs (scenarios 20, 23, 24)', () => {
  it('20a: SIGTERM-style stop mid-task → draining; the task completes within grace; final heartbeat `stopping` → offline at once', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 1500, logLines: 4 };
    const task = await backup(w);
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    await w.agent.stop({ graceMs: 10_000 });
    const done = await settled(w, task.task_id, ['succeeded'], 5000);
    expect(done.attempts).toHaveLength(1);
    expect(w.proxy!.log.some((e) => e.path.endsWith('/heartbeat') && e.body.includes('"state":"draining"'))).toBe(true);
    const agent = await w.orch.admin.getAgent(w.agentId);
    expect(agent.heartbeat_state).toBe('stopping');
    expect(agent.online).toBe(false);
    await assertInvariants(w, [task.task_id]);
  });

  it('20b: grace exceeded while cut off → cancelled agent_shutdown (retryable) kept in the outbox; a newer agent version opens it, drains, the retry runs', async () => {
    w = await makeWorld({ proxy: true, server: { retryDelaysS: [0] } });
    w.executor.plan = { durationMs: 30_000, logLines: 4 };
    const task = await backup(w);
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = w.proxy!.addRule({ action: { kind: 'drop_request' } });
    await w.agent.stop({ graceMs: 300, flushMs: 500 });
    expect(w.executor.audit[0]!.aborted).toBe(true);
    expect(new Outbox(w.db).pendingStatuses().map((r) => r.state)).toEqual(['cancelled']);
    w.executor.plan = { durationMs: 200, logLines: 2 };
    cut.remove();
    await w.startAgent({ agentVersion: '0.2.0' });
    const done = await settled(w, task.task_id, ['succeeded'], 20_000);
    expect(done.attempts.map((a) => a.state)).toEqual(['cancelled', 'succeeded']);
    expect(errorOf(done).error).toMatchObject({ code: 'agent_shutdown', retryable: true });
    await assertInvariants(w, [task.task_id]);
  });

  it('23: task deleted server-side while running → 404 → restic stopped, its outbox records dropped, no retry loop', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 30_000, logLines: 5 };
    const task = await backup(w);
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    await w.orch.admin.deleteTask(task.task_id);
    await waitFor('restic stopped', () => w!.executor.audit[0]?.aborted, 10_000);
    await waitFor('outbox records dropped', () => new Outbox(w!.db).pendingStatuses().length === 0, 10_000);
    const calls = () => w!.proxy!.log.filter((e) => e.path.includes(task.task_id)).length;
    const before = calls();
    await sleep(2000);
    expect(calls() - before, 'status calls for the deleted task').toBe(0);
    expect(w.agent.status().running).toHaveLength(0);
    await assertInvariants(w, [task.task_id]);
  });

  it('24: oversized logs → per-task cap → truncated; only the tail and `final` follow; a 413 halves the batch; outbox within budget; terminal arrives', async () => {
    w = await makeWorld({ record: true, server: { logMaxBytesPerTask: 20_000 }, agent: { tunables: { spool_max_bytes: 400_000, log_batch_max_lines: 200 } } });
    w.executor.plan = { durationMs: 2500, logLines: 3000 };
    const tooBig = w.proxy!.addRule({
      method: 'POST',
      path: '/api/v1/agent/logs',
      action: { kind: 'status', status: 413, body: '{"code":"payload_too_large","status":413}' },
      times: 1,
    });
    let maxSpool = 0;
    const sample = setInterval(() => (maxSpool = Math.max(maxSpool, new Outbox(w!.db).logBytes)), 50);
    const task = await backup(w);
    const done = await settled(w, task.task_id, ['succeeded'], 30_000).finally(() => clearInterval(sample));
    expect(tooBig.hits).toBe(1);
    // The first batch (up to 200 lines) was refused with 413; the next one sent is at most half as long.
    const sent = w.recorder!.log.filter((e) => e.path.endsWith('/logs')).map((e) => (JSON.parse(e.req) as { entries: unknown[] }).entries.length);
    expect(sent[0]).toBeLessThanOrEqual(100);
    const log = (await w.orch.admin.getLogs(task.task_id)).attempts[0]!;
    expect(log.truncated).toBe(true);
    expect(log.final).toBe(true);
    expect(log.dropped).toBeGreaterThan(0);
    expect(log.entries.length).toBeLessThanOrEqual(1200);
    expect(done.attempts[0]!.state).toBe('succeeded');
    expect(maxSpool).toBeLessThanOrEqual(400_000 + 200_000);
    await assertInvariants(w, [task.task_id]);
  });
});
