import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { call, registerAgent } from './agent-wire.js';
import { sleep } from '../../helpers/wait.js';

let orch: ReferenceOrchestrator | undefined;
afterEach(async () => {
  await orch?.stop();
  orch = undefined;
});

const REPO = { repo_id: 'rep_1', url: '/tmp/repo', password: 'hunter2-secret', env: { AWS_SECRET_ACCESS_KEY: 'aws-secret' } };

describe('reference orchestrator: §11 happy path over HTTP', () => {
  it('enroll → register → heartbeat → poll offer → claim → running → progress → logs → succeeded', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const agent = await registerAgent(orch);
    expect(agent.agentId).toMatch(/^agt_[0-9A-Z]{26}$/);
    expect(agent.token).toMatch(/^bka_[A-Za-z0-9_-]{43}$/);

    const hb = await agent.hb();
    expect(hb.status).toBe(200);
    expect(hb.headers['x-server-time']).toBeTruthy();
    expect(hb.json).toMatchObject({ next_heartbeat_s: 30, tasks: [], token: { rotate: false } });

    // Nothing queued: a short poll ends with 204.
    const empty = await agent.poll(1, 1);
    expect(empty.status).toBe(204);

    // A poll parked before the task exists is answered as soon as the task is queued.
    const started = Date.now();
    const pending = agent.poll(20, 1);
    await sleep(200);
    const task = await orch.admin.createTask(agent.agentId, 'backup', { paths: ['/home/alice'], tags: ['plan:daily'] }, { repo: REPO });
    const offerRes = await pending;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(offerRes.status).toBe(200);
    const offer = offerRes.json.tasks[0];
    expect(offer).toMatchObject({
      task_id: task.task_id,
      type: 'backup',
      attempt: 1,
      lease_ttl_s: 120,
      offer_expires_in_s: 60,
      max_runtime_s: 21600,
      cancel_grace_s: 60,
      lost_after_s: 1800,
      repo: REPO,
      params: { paths: ['/home/alice'], reconcile_tag: null, pre: [] },
    });
    expect(offer.lease_id).toMatch(/^lse_/);
    // The offer is durable: the next poll returns the same lease.
    expect((await agent.poll(0, 1)).json.tasks[0].lease_id).toBe(offer.lease_id);

    const L = offer.lease_id as string;
    const T = task.task_id;
    const claim = await agent.status(T, { lease_id: L, attempt: 1, status_seq: 1, state: 'claimed', claimed_at: new Date().toISOString() });
    expect(claim.status).toBe(200);
    expect(claim.json).toMatchObject({
      applied: true,
      duplicate: false,
      stale: false,
      superseded: false,
      task_state: 'claimed',
      lease_expires_in_s: 120,
      cancel_requested: false,
    });
    expect((await agent.status(T, { lease_id: L, attempt: 1, status_seq: 2, state: 'running' })).json.task_state).toBe('running');
    const progress = await agent.status(T, { lease_id: L, attempt: 1, status_seq: 3, state: 'running', progress: { percent: 0.5 } });
    expect(progress.json).toMatchObject({ applied: true, task_state: 'running' });

    // Busy: capacity=0 polls get no offers.
    expect((await agent.poll(0, 0)).status).toBe(204);
    const hb2 = await agent.hb([{ task_id: T, lease_id: L, state: 'running' }]);
    expect(hb2.json.tasks).toEqual([{ task_id: T, lease_id: L, lease_expires_in_s: 120, directive: 'continue' }]);

    const logs1 = await agent.logs(L, T, 1, 3);
    expect(logs1.json).toEqual({ ack_seq: 3, cancel_requested: false, max_batch_bytes: 262144 });
    const logs2 = await agent.logs(L, T, 4, 2, { final: true });
    expect(logs2.json.ack_seq).toBe(5);
    const done = await agent.status(T, {
      lease_id: L,
      attempt: 1,
      status_seq: 4,
      state: 'succeeded',
      log_seq: 5,
      log_final: true,
      result: { exit_code: 0, incomplete: false, restic: { snapshot_id: '4f2a' }, error: null },
    });
    expect(done.json).toMatchObject({ applied: true, task_state: 'succeeded' });

    const view = await orch.admin.getTask(T);
    expect(view.state).toBe('succeeded');
    expect(view.result).toMatchObject({ restic: { snapshot_id: '4f2a' } });
    expect(view.repo).toMatchObject({ password: '[REDACTED]', env: { AWS_SECRET_ACCESS_KEY: '[REDACTED]' } });
    expect(view.attempts[0]!.log).toMatchObject({ hwm: 5, final: true, complete: true });
    const logs = await orch.admin.getLogs(T);
    expect(logs.attempts[0]!.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const agents = await orch.admin.listAgents();
    expect(agents[0]).toMatchObject({ agent_id: agent.agentId, online: true, hostname: 'test-host' });
    // The server never stores a plaintext token.
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(orch.dbFile).includes(Buffer.from(agent.token))).toBe(false);
  });

  it('answers unknown routes and bad credentials with problem+json bodies', async () => {
    orch = await startReferenceOrchestrator(tempDir());
    const r = await call(orch.url, 'POST', '/heartbeat', { token: 'bka_nope', body: {} });
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json).toMatchObject({ status: 401, code: 'token_invalid', type: expect.stringContaining('/errors/token-invalid') });
    const nf = await call(orch.url, 'GET', '/nope');
    expect(nf.status).toBe(404);
    expect(nf.json.code).toBe('not_found');
  });
});
