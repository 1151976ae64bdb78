import { afterEach, describe, expect, it } from 'vitest';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { registerAgent } from './agent-wire.js';
import { claimedBackup, startWithClock, takeOffer } from './scenario-helpers.js';
import { sleep } from '../../helpers/wait.js';

let orch: ReferenceOrchestrator | undefined;
afterEach(async () => {
  await orch?.stop();
  orch = undefined;
});

describe('cancellation (§8.1)', () => {
  it('reaches a waiting capacity=0 poll within a second, and is repeated in heartbeat and status/log responses', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    const t0 = Date.now();
    const parked = agent.poll(30, 0);
    await sleep(300);
    await orch.admin.cancelTask(taskId);
    const r = await parked;
    expect(Date.now() - t0 - 300).toBeLessThan(1000);
    expect(r.status).toBe(200);
    expect(r.json.tasks).toEqual([]);
    expect(r.json.commands).toEqual([{ type: 'cancel', task_id: taskId, lease_id: leaseId, reason: 'user_requested' }]);
    const hb = await agent.hb([{ task_id: taskId, lease_id: leaseId }]);
    expect(hb.json.tasks[0].directive).toBe('cancel');
    const st = await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'running' });
    expect(st.json).toMatchObject({ cancel_requested: true, task_state: 'cancelling' });
    expect((await agent.logs(leaseId, taskId, 1, 1)).json.cancel_requested).toBe(true);
    // Already delivered: the next poll is not answered at once (no hot loop) but the command is level-triggered.
    expect((await agent.poll(1, 0)).status).toBe(204);
    const done = await agent.status(taskId, { lease_id: leaseId, status_seq: 4, state: 'cancelled', log_seq: 1, result: { exit_code: 130 } });
    expect(done.json).toMatchObject({ task_state: 'cancelled', cancel_requested: false });
    expect((await agent.hb([])).json.tasks).toEqual([]);
  });

  it('a cancel while offered makes the claim fail with 409 task_cancelled; the true outcome wins over a cancel', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const agent = await registerAgent(orch);
    const task = await orch.admin.createTask(agent.agentId, 'check', {});
    const offer = await takeOffer(agent);
    await orch.admin.cancelTask(task.task_id);
    const claim = await agent.status(task.task_id, { lease_id: offer.lease_id, status_seq: 1, state: 'claimed' });
    expect(claim.status).toBe(409);
    expect(claim.json.code).toBe('task_cancelled');
    expect((await orch.admin.getTask(task.task_id)).state).toBe('cancelled');

    const { agent: b, taskId, leaseId } = await claimedBackup(orch);
    await orch.admin.cancelTask(taskId);
    const r = await b.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'succeeded', log_seq: 0, result: { exit_code: 0 } });
    expect(r.json.task_state).toBe('succeeded');
  });
});

describe('offers and claims (§5.4, §5.5)', () => {
  it('an expired offer returns to pending; the late claim gets 409 offer_expired and the re-offer has a new lease, same attempt', async () => {
    const s = await startWithClock({ offerTtlS: 60 });
    orch = s.orch;
    const agent = await registerAgent(orch);
    const task = await orch.admin.createTask(agent.agentId, 'backup', { paths: ['/x'] });
    const l1 = await takeOffer(agent);
    s.clock.advance(61_000);
    orch.sweep();
    expect((await orch.admin.getTask(task.task_id)).state).toBe('pending');
    const late = await agent.status(task.task_id, { lease_id: l1.lease_id, status_seq: 1, state: 'claimed' });
    expect(late.status).toBe(409);
    expect(late.json.code).toBe('offer_expired');
    const l2 = await takeOffer(agent);
    expect(l2.lease_id).not.toBe(l1.lease_id);
    expect(l2.attempt).toBe(1);
    expect((await agent.status(task.task_id, { lease_id: l2.lease_id, status_seq: 1, state: 'claimed' })).json.applied).toBe(true);
    // A claim replay is a duplicate: exactly one start.
    expect((await agent.status(task.task_id, { lease_id: l2.lease_id, status_seq: 1, state: 'claimed' })).json.duplicate).toBe(true);
  });

  it('an unbound task is offered to one capable agent; rejected goes back to pending for another', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const a = await registerAgent(orch);
    const b = await registerAgent(orch);
    const noPrune = await registerAgent(orch, { capabilities: ['task:backup'] });
    const task = await orch.admin.createTask(null, 'prune', {});
    expect((await noPrune.poll(0, 1)).status).toBe(204);
    const offer = await takeOffer(a);
    expect((await b.poll(0, 1)).status).toBe(204); // one live offer per task
    expect(
      (await a.status(task.task_id, { lease_id: offer.lease_id, status_seq: 1, state: 'rejected', result: { error: { code: 'unsupported' } } })).json.applied,
    ).toBe(true);
    expect((await a.poll(0, 1)).status).toBe(204);
    const again = await takeOffer(b);
    expect(again.task_id).toBe(task.task_id);
  });

  it('does not offer prune/forget on a repo while a backup on it is claimed or running', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const agent = await registerAgent(orch);
    const repo = { repo_id: 'rep_shared', url: '/r', password: 'p' };
    const backup = await orch.admin.createTask(agent.agentId, 'backup', { paths: ['/x'] }, { repo });
    const bo = await takeOffer(agent);
    await agent.status(backup.task_id, { lease_id: bo.lease_id, status_seq: 1, state: 'claimed' });
    const prune = await orch.admin.createTask(agent.agentId, 'prune', {}, { repo });
    expect((await agent.poll(0, 1)).status).toBe(204);
    await agent.status(backup.task_id, { lease_id: bo.lease_id, status_seq: 2, state: 'succeeded', result: { exit_code: 0 } });
    expect((await takeOffer(agent)).task_id).toBe(prune.task_id);
  });
});

describe('disconnected is not lost (§5.3, §5.5.1, §5.5.2)', () => {
  it('lease expiry → unknown; a heartbeat after the outage renews it → running; the result applies normally', async () => {
    const s = await startWithClock({ lostAfterS: 600 });
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    s.clock.advance(121_000);
    orch.sweep();
    expect((await orch.admin.getTask(taskId)).state).toBe('unknown');
    const hb = await agent.hb([{ task_id: taskId, lease_id: leaseId }]);
    expect(hb.json.tasks[0]).toMatchObject({ directive: 'continue', lease_expires_in_s: 120 });
    expect((await orch.admin.getTask(taskId)).state).toBe('running');
    expect((await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'succeeded', result: { exit_code: 0 } })).json.task_state).toBe('succeeded');
  });

  it('past lost_after: lost → attempt 2 with reconcile params; attempt 1’s late reports are superseded (directive stop) and stored', async () => {
    const s = await startWithClock({ retryDelaysS: [0] });
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch, { lost_after_s: 60 });
    s.clock.advance(121_000); // lease expires
    orch.sweep();
    s.clock.advance(61_000); // lost_after
    orch.sweep();
    expect((await orch.admin.getTask(taskId)).attempts[0]!.state).toBe('lost');
    const second = await takeOffer(agent);
    expect(second).toMatchObject({ attempt: 2, params: { reconcile_tag: `task=${taskId}`, pre: ['unlock'] } });
    await agent.status(taskId, { lease_id: second.lease_id, status_seq: 1, state: 'claimed' });
    const late = await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'succeeded', result: { exit_code: 0 } });
    expect(late.json).toMatchObject({ applied: false, superseded: true, directive: 'stop' });
    const hb = await agent.hb([
      { task_id: taskId, lease_id: leaseId },
      { task_id: taskId, lease_id: second.lease_id },
    ]);
    expect(hb.json.tasks.map((t: { directive: string }) => t.directive)).toEqual(['stop', 'continue']);
    // Logs of the superseded attempt are still accepted and stored against it.
    expect((await agent.logs(leaseId, taskId, 1, 2)).json.ack_seq).toBe(2);
    const view = await orch.admin.getTask(taskId);
    expect(view.attempts[0]).toMatchObject({ agent_state: 'succeeded', late: true });
    expect(view.attempts[0]!.reports.at(-1)!.outcome).toBe('superseded');
    expect(view.state).toBe('claimed');
  });

  it('a late terminal report on a lost attempt with no newer attempt is applied (late=true) and cancels the retry', async () => {
    const s = await startWithClock({ retryDelaysS: [300] });
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch, { lost_after_s: 60 });
    s.clock.advance(182_000);
    orch.sweep();
    orch.sweep();
    expect((await orch.admin.getTask(taskId)).state).toBe('pending_retry');
    const r = await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'succeeded', result: { exit_code: 0 } });
    expect(r.json).toMatchObject({ applied: true, task_state: 'succeeded' });
    expect((await orch.admin.getTask(taskId)).attempts[0]!.late).toBe(true);
  });

  it('a held lease missing from two heartbeats after the claim → lost agent_not_running → retried at once', async () => {
    orch = await startReferenceOrchestrator(tempDir(), { options: { retryDelaysS: [600] } });
    const { agent, taskId } = await claimedBackup(orch);
    await agent.hb([]);
    expect((await orch.admin.getTask(taskId)).state).toBe('running');
    await agent.hb([]);
    const view = await orch.admin.getTask(taskId);
    expect(view.attempts[0]).toMatchObject({ state: 'lost', reason: 'agent_not_running' });
    expect((await takeOffer(agent)).attempt).toBe(2);
  });

  it('retry policy: repo_locked retries after the delay, wrong_password never, attempts are capped', async () => {
    const s = await startWithClock({ retryDelaysS: [60, 300], retryMaxAttempts: 2 });
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    await agent.status(taskId, {
      lease_id: leaseId,
      status_seq: 3,
      state: 'failed',
      result: { exit_code: 11, error: { code: 'repo_locked', retryable: true } },
    });
    expect((await orch.admin.getTask(taskId)).state).toBe('pending_retry');
    expect((await agent.poll(0, 1)).status).toBe(204);
    s.clock.advance(60_000);
    const l2 = await takeOffer(agent);
    expect(l2).toMatchObject({ attempt: 2, params: { reconcile_tag: null, pre: [] } });
    await agent.status(taskId, { lease_id: l2.lease_id, status_seq: 1, state: 'failed', result: { exit_code: 11, error: { code: 'repo_locked' } } });
    expect((await orch.admin.getTask(taskId)).state).toBe('failed'); // 2 attempts max

    const other = await claimedBackup(orch);
    await other.agent.status(other.taskId, {
      lease_id: other.leaseId,
      status_seq: 3,
      state: 'failed',
      result: { exit_code: 12, error: { code: 'wrong_password' } },
    });
    expect((await orch.admin.getTask(other.taskId)).state).toBe('failed');
  });

  it('agent_restarted → attempt 2 carries reconcile_tag and pre: [unlock]', async () => {
    orch = await startReferenceOrchestrator(tempDir(), { options: { retryDelaysS: [0] } });
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    await agent.status(taskId, {
      lease_id: leaseId,
      status_seq: 3,
      state: 'failed',
      log_final: true,
      result: { error: { code: 'agent_restarted', retryable: true, needs_reconcile: true } },
    });
    expect((await takeOffer(agent)).params).toMatchObject({ reconcile_tag: `task=${taskId}`, pre: ['unlock'] });
  });

  it('a deleted task answers 404 task_not_found and the heartbeat says stop', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    await orch.admin.deleteTask(taskId);
    expect((await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'running' })).status).toBe(404);
    expect((await agent.hb([{ task_id: taskId, lease_id: leaseId }])).json.tasks[0].directive).toBe('stop');
    expect((await agent.hb([{ task_id: 'tsk_x', lease_id: 'lse_unknown' }])).json.tasks[0].directive).toBe('unknown');
  });
});

describe('server restart mid-task (§12 scenario 1)', () => {
  it('state survives a restart; failover grace keeps the lease and the agent online; replays are deduped', async () => {
    const s = await startWithClock({ failoverGraceS: 300 });
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch);
    await agent.logs(leaseId, taskId, 1, 10);
    await agent.hb([{ task_id: taskId, lease_id: leaseId }]);
    await orch.restart(200);
    // Down long enough that the lease (120 s) and the offline window (105 s) would have passed.
    s.clock.advance(200_000);
    orch.sweep();
    const view = await orch.admin.getTask(taskId);
    expect(view.state).toBe('running');
    expect((await orch.admin.listAgents())[0]!.online).toBe(true);
    // Requests applied just before the crash are deduped.
    const dup = await agent.status(taskId, { lease_id: leaseId, attempt: 1, status_seq: 2, state: 'running' });
    expect(dup.json, dup.text).toMatchObject({ duplicate: true });
    expect((await agent.logs(leaseId, taskId, 1, 10)).json.ack_seq).toBe(10);
    expect((await agent.logs(leaseId, taskId, 11, 5)).json.ack_seq).toBe(15);
    expect((await agent.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'succeeded', log_seq: 15, result: { exit_code: 0 } })).json.task_state).toBe(
      'succeeded',
    );
    expect((await orch.admin.getTask(taskId)).attempts[0]!.log.complete).toBe(true);
  });

  it('after the grace, an agent that stayed away is offline and its lease goes unknown', async () => {
    const s = await startWithClock({ failoverGraceS: 300 });
    orch = s.orch;
    const { taskId } = await claimedBackup(orch);
    await orch.restart();
    s.clock.advance(301_000);
    orch.sweep();
    expect((await orch.admin.getTask(taskId)).state).toBe('unknown');
    expect((await orch.admin.listAgents())[0]!.online).toBe(false);
  });
});

describe('server backstop and clock skew', () => {
  it('running past max_runtime_s + lost_after_s with no terminal report → timed_out (server backstop)', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const { agent, taskId, leaseId } = await claimedBackup(orch, { max_runtime_s: 100, lost_after_s: 50 });
    for (let i = 0; i < 3; i++) {
      s.clock.advance(50_000);
      await agent.hb([{ task_id: taskId, lease_id: leaseId }]); // keeps the lease alive
    }
    s.clock.advance(1000);
    orch.sweep();
    const view = await orch.admin.getTask(taskId);
    expect(view.state).toBe('timed_out');
    expect(view.attempts[0]!.reason).toBe('server_backstop');
    expect((await agent.hb([{ task_id: taskId, lease_id: leaseId }])).json.tasks[0].directive).toBe('stop');
  });

  it('records clock skew from sent_at and raises an event above 120 s', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const agent = await registerAgent(orch);
    const sent = new Date(s.clock.now() - 3 * 3600_000).toISOString();
    const r = await agent.hb([], { sent_at: sent });
    expect(r.json.clock_skew_ms).toBe(3 * 3600_000);
    expect((await orch.admin.getAgent(agent.agentId)).clock_skew_ms).toBe(3 * 3600_000);
    expect((await orch.admin.listEvents()).map((e) => e.kind)).toContain('clock_skew');
  });
});
