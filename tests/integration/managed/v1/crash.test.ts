import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../../src/main/core/managed/v1/outbox.js';
import { REPO, assertInvariants, settled } from './harness.js';
import { alive } from './proc-executor.js';
import { expectKilled, makeProcWorld, type ProcWorld } from './proc-harness.js';
import { waitFor } from '../../../helpers/wait.js';

/**
 * Scenario 14 with a real `kill -9`: the agent runs in a child process with `RESTIC_AGENT_FAILPOINTS=<name>` and
 * SIGKILLs itself at that point; restic is a real (fake) child process that survives as an orphan. A second process on
 * the same state DB and key store must recover, and I1–I6 must hold.
 */
let w: ProcWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const SERVER = { retryDelaysS: [0], offerTtlS: 3 };
const backup = (world: ProcWorld) => world.orch.admin.createTask(world.agentId, 'backup', { paths: ['/data'] }, { repo: REPO });
const restartMarker = async (world: ProcWorld, taskId: string, leaseId: string) => {
  const logs = await world.orch.admin.getLogs(taskId);
  return logs.attempts.find((a) => a.lease_id === leaseId)?.entries.some((e) => String(e.msg).includes('agent restarted')) ?? false;
};

describe('scenario 14: kill -9 of the agent process at each failpoint', () => {
  it('after_claim_persisted: the claim never left → dropped locally on restart, the re-offer runs once', async () => {
    w = await makeProcWorld({ server: SERVER });
    const c1 = await w.spawnAgent({ failpoints: ['after_claim_persisted'] });
    const task = await backup(w);
    await expectKilled(c1);
    const l1 = (await w.orch.admin.getTask(task.task_id)).attempts[0]!.lease_id;
    expect(new Outbox(w.db).journal(l1)?.claim_acked).toBe(0);
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    // Either the still-live offer L1 is claimed afresh, or it expired and L2 was offered: never a run without a claim.
    expect(done.attempts.map((a) => a.state).join()).toMatch(/^(offer_expired,)?succeeded$/);
    expect(w.runs().map((r) => r.leaseId)).toEqual([done.attempts.at(-1)!.lease_id]);
    await assertInvariants(w, [task.task_id]);
  });

  it('after_claim_acked: restic never started → failed agent_restarted → retry runs once', async () => {
    w = await makeProcWorld({ server: SERVER });
    const c1 = await w.spawnAgent({ failpoints: ['after_claim_acked'] });
    const task = await backup(w);
    await expectKilled(c1);
    expect(w.runs()).toHaveLength(0);
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(done.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect(JSON.stringify(done.attempts[0]!.status)).toContain('agent_restarted');
    expect(await restartMarker(w, task.task_id, done.attempts[0]!.lease_id)).toBe(true);
    expect(w.runs().map((r) => r.leaseId)).toEqual([done.attempts[1]!.lease_id]);
    await assertInvariants(w, [task.task_id]);
  });

  it('after_restic_spawn: the orphan restic is stopped (pid + start time) before the retry, which unlocks first', async () => {
    w = await makeProcWorld({ server: SERVER });
    w.setPlan({ durationMs: 20_000, lines: 3 });
    const c1 = await w.spawnAgent({ failpoints: ['after_restic_spawn'] });
    const task = await backup(w);
    await expectKilled(c1);
    const orphan = await waitFor('fake restic started', () => w!.audit().find((e) => e.ev === 'start'), 5000);
    expect(alive(orphan.pid)).toBe(true);
    w.setPlan({ durationMs: 300, lines: 3 });
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(alive(orphan.pid)).toBe(false);
    const [first, second] = w.runs();
    expect(first).toMatchObject({ leaseId: done.attempts[0]!.lease_id, aborted: true });
    expect(second!.startedAt).toBeGreaterThanOrEqual(first!.endedAt!);
    expect(done.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect(done.attempts[1]!.params).toMatchObject({ pre: ['unlock'], reconcile_tag: `task=${task.task_id}` });
    await assertInvariants(w, [task.task_id]);
  });

  it('after_restic_exit_before_persist: exit code lost → the retry finds task=<id> → succeeded with the same snapshot, no second backup (I6)', async () => {
    w = await makeProcWorld({ server: SERVER });
    const c1 = await w.spawnAgent({ failpoints: ['after_restic_exit_before_persist'] });
    const task = await backup(w);
    await expectKilled(c1);
    const [snap] = w.snapshotsForTask(task.task_id);
    expect(snap).toBeDefined();
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(done.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect((done.attempts[1]!.status as { result: { restic: { snapshot_id: string } } }).result.restic.snapshot_id).toBe(snap);
    expect(w.runs()).toHaveLength(1);
    expect(w.snapshotsForTask(task.task_id)).toEqual([snap]);
    await assertInvariants(w, [task.task_id]);
  });

  it('after_terminal_persisted: the spooled terminal status is simply sent by the next process', async () => {
    w = await makeProcWorld({ server: SERVER });
    const c1 = await w.spawnAgent({ failpoints: ['after_terminal_persisted'] });
    const task = await backup(w);
    await expectKilled(c1);
    expect(new Outbox(w.db).pendingStatuses().map((r) => r.state)).toEqual(['succeeded']);
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(done.attempts).toHaveLength(1);
    expect(w.runs()).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('mid_log_batch: a batch stored but not acked is resent without duplicates; a restart marker closes the log', async () => {
    w = await makeProcWorld({ server: SERVER });
    w.setPlan({ durationMs: 20_000, lines: 40 });
    const c1 = await w.spawnAgent({ failpoints: ['mid_log_batch'] });
    const task = await backup(w);
    await expectKilled(c1);
    const l1 = (await w.orch.admin.getTask(task.task_id)).attempts[0]!.lease_id;
    const hwm = (await w.orch.admin.getLogs(task.task_id)).attempts[0]!.hwm;
    expect(hwm).toBeGreaterThan(0);
    // The batch the server stored is still in the outbox, unacked.
    expect(new Outbox(w.db).logBatch(l1, 1000, 1e9)[0]?.seq).toBe(1);
    w.setPlan({ durationMs: 300, lines: 3 });
    await w.spawnAgent();
    const done = await settled(w, task.task_id, ['succeeded'], 40_000);
    expect(done.attempts.map((a) => a.state)).toEqual(['failed', 'succeeded']);
    expect(await restartMarker(w, task.task_id, l1)).toBe(true);
    await assertInvariants(w, [task.task_id]);
  });

  it('after_rotate_response: the new token was never stored → the next process rotates again, one active token, no lockout', async () => {
    w = await makeProcWorld({ server: SERVER });
    const c1 = await w.spawnAgent({ failpoints: ['after_rotate_response'] });
    await w.orch.admin.agentAction(w.agentId, 'rotate-token');
    await expectKilled(c1);
    await w.spawnAgent();
    await waitFor(
      'rotation completed',
      async () => {
        const v = await w!.orch.admin.getAgent(w!.agentId);
        return !v.rotate_requested && v.tokens.filter((t) => t.state === 'active').length === 1;
      },
      20_000,
    );
    const tokens = (await w.orch.admin.getAgent(w.agentId)).tokens.map((t) => t.state);
    // enrollment token superseded, the first rotation's pending token revoked, the second one active
    expect(tokens.filter((s) => s === 'pending')).toHaveLength(0);
    expect(tokens).toContain('revoked');
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded'], 30_000);
    await assertInvariants(w, [task.task_id]);
  });
});
