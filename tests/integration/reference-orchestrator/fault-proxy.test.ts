import { afterEach, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../../../reference-orchestrator/testing/fault-proxy.js';
import { createFaultProxy } from '../../../reference-orchestrator/testing/fault-proxy.js';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { startReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { tempDir } from '../../helpers/tmp.js';
import { agentFor, call } from './agent-wire.js';
import { claimedBackup } from './scenario-helpers.js';
import { sleep } from '../../helpers/wait.js';

let orch: ReferenceOrchestrator | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await orch?.stop();
  proxy = undefined;
  orch = undefined;
});

/** A server, a claimed running backup, and the same agent talking through the proxy. */
async function setup(seed = 7) {
  orch = await startReferenceOrchestrator(tempDir());
  const direct = await claimedBackup(orch);
  proxy = await createFaultProxy({ target: orch.url, seed });
  const viaProxy = agentFor({ ...orch, url: proxy.url } as ReferenceOrchestrator, direct.agent.agentId, direct.agent.token);
  return { ...direct, via: viaProxy, p: proxy, o: orch };
}

const STATUS = '/api/v1/agent/tasks/*/status';

describe('fault-injecting proxy', () => {
  it('passes traffic through untouched when no rule matches', async () => {
    const { via } = await setup();
    const r = await via.hb();
    expect(r.status).toBe(200);
    expect(r.json.next_heartbeat_s).toBe(30);
    expect(proxy!.log.at(-1)).toMatchObject({ method: 'POST', path: '/api/v1/agent/heartbeat', fault: null, status: 200 });
  });

  it('drop_request: the client sees a closed connection and the server never saw the request', async () => {
    const { via, taskId, leaseId, o } = await setup();
    proxy!.addRule({ path: STATUS, action: { kind: 'drop_request' }, times: 1 });
    await expect(via.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'running' })).rejects.toThrow();
    expect((await o.admin.getTask(taskId)).attempts[0]!.status_seq).toBe(2);
    // times: 1 → the next one passes.
    expect((await via.status(taskId, { lease_id: leaseId, status_seq: 3, state: 'running' })).json.applied).toBe(true);
  });

  it('drop_response (half-open): applied upstream, the retry with the same key is a duplicate (scenario 2/6)', async () => {
    const { via, taskId, leaseId, o } = await setup();
    const rule = proxy!.addRule({ method: 'POST', path: STATUS, action: { kind: 'drop_response' }, times: 1 });
    const doc = { lease_id: leaseId, status_seq: 3, state: 'succeeded', result: { exit_code: 0 } };
    await expect(via.status(taskId, doc)).rejects.toThrow();
    expect(rule.hits).toBe(1);
    expect((await o.admin.getTask(taskId)).state).toBe('succeeded');
    expect((await via.status(taskId, doc)).json).toMatchObject({ duplicate: true, task_state: 'succeeded' });
    expect(proxy!.log.filter((e) => e.fault === 'drop_response')[0]!.status).toBe(200);
  });

  it('delay, 429/503 with Retry-After, 500/502, and an HTML page with status 200', async () => {
    const { via } = await setup();
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'delay', ms: 300 }, times: 1 });
    const t0 = Date.now();
    expect((await via.hb()).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'status', status: 503, retryAfter: 5 }, times: 1 });
    const busy = await via.hb();
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('5');
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'status', status: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' }, times: 1 });
    expect((await via.hb()).headers['retry-after']).toBe('Wed, 21 Oct 2026 07:28:00 GMT');
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'status', status: 500 }, times: 1 });
    expect((await via.hb()).status).toBe(500);
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'html200' }, times: 1 });
    const html = await via.hb();
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html');
    expect(html.json).toBeNull();
    expect((await via.hb()).status).toBe(200);
  });

  it('cuts a long poll after N ms (close, or a 504 answer) and resets connections', async () => {
    const { via } = await setup();
    proxy!.addRule({ path: '/api/v1/agent/tasks', action: { kind: 'cut', afterMs: 300 }, times: 1 });
    const t0 = Date.now();
    await expect(via.poll(20, 0)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(3000);
    proxy!.addRule({ path: '/api/v1/agent/tasks', action: { kind: 'cut', afterMs: 200, status: 504 }, times: 1 });
    expect((await via.poll(20, 0)).status).toBe(504);
    // A poll that answers before the cut is passed through.
    proxy!.addRule({ path: '/api/v1/agent/tasks', action: { kind: 'cut', afterMs: 5000 }, times: 1 });
    expect((await via.poll(0, 0)).status).toBe(204);
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'reset' }, times: 1 });
    await expect(via.hb()).rejects.toThrow();
  });

  it('hold + release reorders requests: seq 5 released after seq 7 is stale (scenario 9)', async () => {
    const { via, taskId, leaseId } = await setup();
    const hold = proxy!.addRule({ path: STATUS, bodyMatch: (b) => b.includes('"status_seq":5'), action: { kind: 'hold' } });
    const held = via.status(taskId, { lease_id: leaseId, status_seq: 5, state: 'running' });
    await sleep(100);
    expect((await via.status(taskId, { lease_id: leaseId, status_seq: 7, state: 'running' })).json.applied).toBe(true);
    hold.release();
    expect((await held).json).toMatchObject({ stale: true, applied: false });
  });

  it('probability rules are deterministic for a seed', async () => {
    const { via } = await setup(42);
    const run = async (): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await via.hb()).status);
      return out;
    };
    proxy!.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'status', status: 503, retryAfter: 1 }, probability: 0.5 });
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    const second = await createFaultProxy({ target: orch!.url, seed: 42 });
    try {
      second.addRule({ path: '/api/v1/agent/heartbeat', action: { kind: 'status', status: 503, retryAfter: 1 }, probability: 0.5 });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await call(second.url, 'POST', '/heartbeat', { token: via.token, body: {} })).status);
      expect(out).toEqual(first);
    } finally {
      await second.close();
    }
  });
});
