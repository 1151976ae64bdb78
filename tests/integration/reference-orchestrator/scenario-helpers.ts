/** Shared setup for the orchestrator scenario tests: a server with a manual clock and an agent holding a claimed task. */
import type { ManualClock, OrchestratorOptions } from '../../../reference-orchestrator/options.js';
import { createManualClock } from '../../../reference-orchestrator/options.js';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { tempDir } from '../../helpers/tmp.js';
import type { TestAgent } from './agent-wire.js';
import { registerAgent } from './agent-wire.js';

/** A server on a manual clock (no background sweep, no failover grace unless asked). */
export async function startWithClock(options: Partial<OrchestratorOptions> = {}): Promise<{ orch: ReferenceOrchestrator; clock: ManualClock }> {
  const clock = createManualClock(Date.parse('2026-05-01T10:00:00.000Z'));
  const orch = await startReferenceOrchestrator(tempDir(), { clock, options: { sweepIntervalMs: 0, failoverGraceS: 0, ...options } });
  return { orch, clock };
}

/** Polls once and returns the first offer (throws when there is none). */
export async function takeOffer(agent: TestAgent): Promise<{ task_id: string; lease_id: string; attempt: number; params: Record<string, unknown> }> {
  const r = await agent.poll(0, 1);
  if (r.status !== 200 || !r.json.tasks[0]) throw new Error(`expected an offer, got ${r.status} ${r.text}`);
  return r.json.tasks[0];
}

/** Registers an agent, queues a backup for it and claims it (seq 1) then reports running (seq 2). */
export async function claimedBackup(orch: ReferenceOrchestrator, extras: { lost_after_s?: number; max_runtime_s?: number } = {}) {
  const agent = await registerAgent(orch);
  const task = await orch.admin.createTask(agent.agentId, 'backup', { paths: ['/data'] }, { repo: { url: '/tmp/r', password: 'pw-secret' }, ...extras });
  const offer = await takeOffer(agent);
  const claim = await agent.status(task.task_id, { lease_id: offer.lease_id, attempt: offer.attempt, status_seq: 1, state: 'claimed' });
  if (claim.status !== 200) throw new Error(`claim failed: ${claim.text}`);
  await agent.status(task.task_id, { lease_id: offer.lease_id, attempt: offer.attempt, status_seq: 2, state: 'running' });
  return { agent, taskId: task.task_id, leaseId: offer.lease_id };
}
