import { afterEach, describe, expect, it } from 'vitest';
import { REPO, assertInvariants, settled } from './harness.js';
import { alive } from './proc-executor.js';
import { makeProcWorld, type ProcWorld } from './proc-harness.js';
import { waitFor } from '../../../helpers/wait.js';

/** Scenarios that need the agent in its own process: a shifted wall clock (13) and a restic that ignores SIGINT (16). */
let w: ProcWorld | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const HOUR = 3_600_000;

describe('managed agent in a child process', () => {
  it('scenario 13: wall clock +3 h, a +2 h step mid-task, then −3 h → leases renewed, no premature timed_out, skew reported, jump detected, forget refused', async () => {
    w = await makeProcWorld();
    w.setPlan({ durationMs: 7000, lines: 6 });
    const child = await w.spawnAgent({ clockOffsetMs: 3 * HOUR });
    const t1 = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/data'] }, { repo: REPO, max_runtime_s: 30 });
    await waitFor('running', async () => (await w!.orch.admin.getTask(t1.task_id)).state === 'running', 10_000);
    child.setClockOffset(5 * HOUR); // a step of +2 h (the same thing as a resume after suspend, for the agent)
    const d1 = await settled(w, t1.task_id, ['succeeded'], 30_000);
    expect(d1.attempts[0]!.late).toBe(false); // the lease never expired
    expect(child.stderr()).toMatch(/clock jump of 7200 s detected/);
    const agent = await w.orch.admin.getAgent(w.agentId);
    expect(Math.abs(agent.clock_skew_ms ?? 0)).toBeGreaterThan(4.9 * HOUR);
    expect((await w.orch.admin.listEvents()).map((e) => e.kind)).toContain('clock_skew');
    // Policy: retention decisions depend on snapshot times → forget is refused while |skew| > 1 h.
    const t2 = await w.orch.admin.createTask(w.agentId, 'forget', { keep: { last: 3 } }, { repo: REPO });
    const d2 = await settled(w, t2.task_id, ['failed'], 15_000);
    expect((d2.attempts[0]!.status as { result: { error: { code: string } } }).result.error.code).toBe('clock_skew');
    expect(w.runs().filter((r) => r.taskId === t2.task_id)).toHaveLength(0);
    // The clock now 3 h behind: still renewed and applied.
    child.setClockOffset(-3 * HOUR);
    await waitFor('skew −3 h seen', async () => ((await w!.orch.admin.getAgent(w!.agentId)).clock_skew_ms ?? 0) > 2.9 * HOUR, 10_000);
    w.setPlan({ durationMs: 300, lines: 2 });
    const t3 = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/data'] }, { repo: REPO });
    await settled(w, t3.task_id, ['succeeded'], 15_000);
    await assertInvariants(w, [t1.task_id, t2.task_id, t3.task_id]);
  }, 90_000);

  it('scenario 16: restic ignores SIGINT → SIGKILL after cancel_grace_s → cancelled', async () => {
    w = await makeProcWorld();
    w.setPlan({ durationMs: 60_000, lines: 3, sigint: 'never' });
    await w.spawnAgent();
    const task = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/data'] }, { repo: REPO, cancel_grace_s: 1 });
    await waitFor('running', async () => (await w!.orch.admin.getTask(task.task_id)).state === 'running', 10_000);
    const { pid } = await waitFor('fake restic started', () => w!.audit()[0], 5000);
    const t0 = Date.now();
    await w.orch.admin.cancelTask(task.task_id);
    await settled(w, task.task_id, ['cancelled'], 15_000);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(alive(pid)).toBe(false);
    expect(w.audit().filter((e) => e.ev === 'end')).toHaveLength(0); // killed, never exited on its own
    await assertInvariants(w, [task.task_id]);
  });
});
