import { afterEach, describe, expect, it } from 'vitest';
import { REPO, assertInvariants, makeWorld, settled, type World } from './harness.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('managed agent against the reference orchestrator', () => {
  it('happy path: offer → claim → running → progress → logs → succeeded with the snapshot id', async () => {
    w = await makeWorld();
    w.executor.plan = { durationMs: 1500, logLines: 8 };
    const task = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/home/alice'], tags: ['plan:daily'] }, { repo: REPO });
    const done = await settled(w, task.task_id, ['succeeded']);
    const at = done.attempts[0]!;
    expect(at.state).toBe('succeeded');
    expect(w.executor.audit).toHaveLength(1);
    expect(w.executor.audit[0]!.tags).toEqual(['plan:daily', `task=${task.task_id}`]);
    expect(JSON.stringify(at.status)).toContain(w.executor.snapshotsForTask(task.task_id)[0]!);
    expect(at.reports.map((r) => r.state)).toContain('running');
    await assertInvariants(w, [task.task_id]);
  });
});
