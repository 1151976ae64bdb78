import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../../src/main/core/managed/v1/outbox.js';
import { REPO, assertInvariants, makeWorld, settled, type World } from './harness.js';
import { waitFor } from '../../../helpers/wait.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const backup = (world: World, params: Record<string, unknown> = {}) =>
  world.orch.admin.createTask(world.agentId, 'backup', { paths: ['/data'], ...params }, { repo: REPO });

describe('managed agent: §12 conformance scenarios against the reference orchestrator', () => {
  it('scenario 1: orchestrator down mid-task → outbox holds status and logs → drained after restart', async () => {
    w = await makeWorld();
    w.executor.plan = { durationMs: 2500, logLines: 20 };
    const task = await backup(w);
    await waitFor('running', async () => (await w!.orch.admin.getTask(task.task_id)).state === 'running', 10_000);
    await w.orch.stop();
    // restic keeps running and finishes while the server is away; everything lands in the outbox.
    await waitFor('fake restic finished', () => w!.executor.audit[0]?.endedAt, 10_000);
    await waitFor('terminal status spooled', () => new Outbox(w!.db).pendingStatuses().some((r) => r.terminal === 1), 5000);
    expect(w.agent.status().offline || true).toBe(true);
    await w.orch.restart();
    const done = await settled(w, task.task_id, ['succeeded'], 60_000);
    expect(done.attempts).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 6: claim response lost (half-open) → retried claim is a duplicate → exactly one restic run', async () => {
    w = await makeWorld({ proxy: true });
    const rule = w.proxy!.addRule({
      method: 'POST',
      path: /\/tasks\/[^/]+\/status$/,
      bodyMatch: (b) => b.includes('"state":"claimed"'),
      action: { kind: 'drop_response' },
      times: 1,
    });
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded']);
    expect(rule.hits).toBe(1);
    const t = await w.orch.admin.getTask(task.task_id);
    expect(t.attempts).toHaveLength(1);
    expect(w.executor.audit).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 6b: status and log responses lost → no duplicates stored', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 800, logLines: 30 };
    w.proxy!.addRule({ method: 'POST', path: '/api/v1/agent/logs', action: { kind: 'drop_response' }, times: 2 });
    w.proxy!.addRule({ method: 'POST', path: /\/status$/, bodyMatch: (b) => b.includes('"state":"succeeded"'), action: { kind: 'drop_response' }, times: 1 });
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded'], 40_000);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 10: 409 log_gap → the agent rewinds to expected_seq and resends from its outbox', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 300, logLines: 12 };
    // Hold every log batch until the whole attempt is spooled, then pretend 1..5 were acked (as after a bad restore).
    const hold = w.proxy!.addRule({ method: 'POST', path: '/api/v1/agent/logs', action: { kind: 'status', status: 503, retryAfter: 1 } });
    const task = await backup(w);
    await waitFor('restic done', () => w!.executor.audit[0]?.endedAt, 10_000);
    await waitFor('terminal status sent', () => new Outbox(w!.db).pendingStatuses().length === 0, 15_000);
    await waitFor('a log batch refused', () => hold.hits >= 1, 10_000);
    const lease = w.executor.audit[0]!.leaseId;
    w.db.prepare('UPDATE orch_log_cursor SET acked_seq = 5 WHERE stream_id = ?').run(lease);
    // One more refused try, so the next batch is read after the change.
    const h0 = hold.hits;
    await waitFor('another refused batch', () => hold.hits > h0, 10_000);
    hold.remove();
    await settled(w, task.task_id, ['succeeded'], 40_000);
    const gaps = w.proxy!.log.filter((e) => e.path.endsWith('/logs') && e.status === 409);
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 17: 503 + Retry-After is honoured (no hot retry loop)', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 6000, logLines: 2 };
    const times: number[] = [];
    const r = w.proxy!.addRule({
      method: 'POST',
      path: /\/status$/,
      action: { kind: 'status', status: 503, retryAfter: 2 },
      times: 2,
      bodyMatch: (b) => b.includes('"state":"running"') && times.push(Date.now()) > 0,
    });
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(r.hits).toBe(2);
    const statusFaults = w.proxy!.log.filter((e) => e.method === 'POST' && e.path.endsWith('/status') && e.fault === 'status');
    expect(statusFaults).toHaveLength(2);
    // The retry came no sooner than Retry-After (2 s), not in a hot loop.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1900);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 18: HTML page with 200 on the poll is retried, not treated as a task list', async () => {
    w = await makeWorld({ proxy: true });
    w.proxy!.addRule({ method: 'GET', path: '/api/v1/agent/tasks', action: { kind: 'html200' }, times: 2 });
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded'], 40_000);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 16: cancel while running reaches the agent within seconds → cancelled', async () => {
    w = await makeWorld();
    w.executor.plan = { durationMs: 30_000, logLines: 3, sigintDelayMs: 200 };
    const task = await backup(w);
    await waitFor('running', async () => (await w!.orch.admin.getTask(task.task_id)).state === 'running', 10_000);
    const t0 = Date.now();
    await w.orch.admin.cancelTask(task.task_id, 'user_requested');
    const done = await settled(w, task.task_id, ['cancelled'], 20_000);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(w.executor.audit[0]!.aborted).toBe(true);
    expect(done.attempts[0]!.state).toBe('cancelled');
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 14: agent crash after restic committed the snapshot → agent_restarted → retry reconciles by tag, no second backup', async () => {
    w = await makeWorld({ server: { retryDelaysS: [0] } });
    w.executor.plan = { durationMs: 300, logLines: 4 };
    await w.agent.abandon();
    let crashed = false;
    const world = w;
    const first = await world.startAgent({
      failpoint: (name) => {
        if (name === 'after_restic_exit_before_persist' && !crashed) {
          crashed = true;
          void first.abandon();
          throw new Error('simulated kill -9');
        }
      },
    });
    const task = await backup(w);
    await waitFor('crash', () => crashed, 10_000);
    await first.abandon();
    expect(w.executor.snapshotsForTask(task.task_id)).toHaveLength(1);
    // A new process on the same state DB: recovery reports agent_restarted, the retry carries reconcile_tag.
    await w.startAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(done.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect(JSON.stringify(done.attempts[0]!.status)).toContain('agent_restarted');
    expect(done.attempts[1]!.params).toMatchObject({ reconcile_tag: `task=${task.task_id}` });
    expect(w.executor.audit).toHaveLength(1); // the retry did not run restic again
    expect(JSON.stringify(done.attempts[1]!.status)).toContain(w.executor.snapshotsForTask(task.task_id)[0]!);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 14b: crash right after the claim was persisted (never acked) → dropped locally, nothing runs', async () => {
    w = await makeWorld({ proxy: true });
    await w.agent.abandon();
    // The claim never reaches the server.
    w.proxy!.addRule({ method: 'POST', path: /\/status$/, action: { kind: 'drop_request' } });
    let crashed = false;
    const first = await w.startAgent({
      failpoint: (name) => {
        if (name === 'after_claim_persisted' && !crashed) {
          crashed = true;
          void first.abandon();
          throw new Error('simulated kill -9');
        }
      },
    });
    const task = await backup(w);
    await waitFor('crash', () => crashed, 10_000);
    await first.abandon();
    w.proxy!.clearRules();
    expect(new Outbox(w.db).journal((await w.orch.admin.getTask(task.task_id)).current_lease_id ?? '')?.claim_acked).toBe(0);
    await w.startAgent();
    await settled(w, task.task_id, ['succeeded'], 90_000);
    await assertInvariants(w, [task.task_id]);
  }, 120_000);

  it('scenario 12: server-requested token rotation → next slot proven by a heartbeat, promoted, old token superseded', async () => {
    w = await makeWorld();
    const before = await w.secrets.get(w.accounts.current);
    await w.orch.admin.agentAction(w.agentId, 'rotate-token');
    await waitFor(
      'token promoted',
      async () => {
        const cur = await w!.secrets.get(w!.accounts.current);
        return cur !== before && (await w!.secrets.get(w!.accounts.next)) === null;
      },
      15_000,
    );
    const view = await w.orch.admin.getAgent(w.agentId);
    expect(view.tokens.filter((t) => t.state === 'active')).toHaveLength(1);
    // The agent keeps working with the new token.
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded']);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 11: token revoked → suspended, restic stopped, outbox kept, no crash loop', async () => {
    w = await makeWorld();
    w.executor.plan = { durationMs: 30_000, logLines: 2 };
    const task = await backup(w);
    await waitFor('running', async () => (await w!.orch.admin.getTask(task.task_id)).state === 'running', 10_000);
    await w.orch.admin.agentAction(w.agentId, 'revoke-tokens');
    await waitFor('suspended', () => w!.agent.status().auth === 'suspended', 10_000);
    await waitFor('restic stopped', () => w!.executor.audit[0]?.aborted, 10_000);
    expect(w.agent.status().message).toMatch(/re-enroll/);
    // The terminal report could not be sent: it stays in the outbox.
    await waitFor('terminal kept', () => new Outbox(w!.db).pendingStatuses().some((r) => r.terminal === 1), 5000);
  });
});
