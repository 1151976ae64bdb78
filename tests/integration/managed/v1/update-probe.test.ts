// The heartbeat probe of the update health check (`update self-check` in managed mode) against the reference
// orchestrator: one heartbeat with the stored token and nothing else (no claims); a revoked token makes it fail
// with the orchestrator's reason, so the new version would not be swapped in.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/main/core/log/logger.js';
import { ManagedAgent } from '../../../../src/main/core/managed/v1/agent.js';
import { makeWorld, REPO, type World } from './harness.js';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

describe('the update health check’s heartbeat probe (v1)', () => {
  it('passes with one heartbeat, claims nothing, and fails once the token is revoked', async () => {
    const w = (world = await makeWorld({ startAgent: false }));
    const task = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/home/alice'], tags: [] }, { repo: REPO });
    const probe = () =>
      new ManagedAgent({
        url: w.orch.url,
        insecureLoopback: true,
        db: w.db,
        secrets: w.secrets,
        executor: w.executor,
        agentVersion: '0.2.0',
        log: silentLogger,
      }).probe();
    await probe();
    const seen = await w.orch.admin.getAgent(w.agentId);
    expect(seen).toMatchObject({ heartbeats: 1, agent_version: expect.any(String) });
    expect(w.executor.audit).toEqual([]);
    expect((await w.orch.admin.getTask(task.task_id)).state).toBe('pending'); // not claimed
    await w.orch.admin.agentAction(w.agentId, 'revoke-tokens');
    await expect(probe()).rejects.toThrow(/the heartbeat failed/);
  }, 60_000);
});
