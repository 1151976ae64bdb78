import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorClient } from '../../../../src/main/core/managed/v1/client.js';
import { json, startFakeServer } from './fake-server.js';

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function setup(handler: Parameters<typeof startFakeServer>[0]) {
  const srv = await startFakeServer(handler);
  servers.push(srv);
  const client = new OrchestratorClient({
    url: srv.url,
    insecureLoopback: true,
    token: () => 'bka_testtoken_1234567890',
    agentId: () => 'agt_1',
    identity: { agentVersion: '0.1.0', resticVersion: '0.17.3', bootId: 'boot-1' },
  });
  return { srv, client };
}

describe('OrchestratorClient', () => {
  it('sends the protocol headers and a deterministic idempotency key', async () => {
    const { srv, client } = await setup((_req, res) => json(res, 200, { applied: true, task_state: 'running' }));
    const r = await client.status('tsk_1', { lease_id: 'lse_1', status_seq: 7 });
    expect(r.ok).toBe(true);
    const h = srv.seen[0]!.headers;
    expect(srv.seen[0]!.path).toBe('/api/v1/agent/tasks/tsk_1/status');
    expect(h['authorization']).toBe('Bearer bka_testtoken_1234567890');
    expect(h['idempotency-key']).toBe('st:lse_1:7');
    expect(h['agent-protocol']).toBe('1');
    expect(h['agent-id']).toBe('agt_1');
    expect(h['agent-boot-id']).toBe('boot-1');
    expect(h['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(h['user-agent']).toMatch(/^restic-agent\/0\.1\.0 \(.+; node\/.+\) restic\/0\.17\.3$/);
  });

  it('gzips log batches with a log:<stream>:<first>-<last> key', async () => {
    const { srv, client } = await setup((_req, res) => json(res, 200, { ack_seq: 3 }));
    const r = await client.logs({ stream: { kind: 'task' }, first_seq: 1, entries: [{ seq: 1 }, { seq: 2 }, { seq: 3 }], final: false }, 'lse_1');
    expect(r.ok && r.body?.ack_seq).toBe(3);
    expect(srv.seen[0]!.headers['content-encoding']).toBe('gzip');
    expect(srv.seen[0]!.headers['idempotency-key']).toBe('log:lse_1:1-3');
    expect((srv.seen[0]!.body as { entries: unknown[] }).entries).toHaveLength(3);
  });

  it('never sends an idempotency key on heartbeats', async () => {
    const { srv, client } = await setup((_req, res) => json(res, 200, { tasks: [] }));
    expect((await client.heartbeat({ seq: 1 })).ok).toBe(true);
    expect(srv.seen[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it.each([
    [
      'HTML with 200',
      (res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>proxy</html>');
      },
      /not JSON/,
    ],
    [
      'malformed JSON',
      (res: ServerResponse) => {
        res.writeHead(200);
        res.end('{"ack_seq": ');
      },
      /not JSON/,
    ],
    ['wrong types', (res: ServerResponse) => json(res, 200, { ack_seq: 'ten' }), /ack_seq/],
    [
      'huge body',
      (res: ServerResponse) => {
        res.writeHead(200);
        res.end('[' + '1,'.repeat(1_000_000) + '1]');
      },
      /larger than/,
    ],
    ['500', (res: ServerResponse) => json(res, 500, { code: 'boom' }), /500/],
  ])('treats %s as a transient error, never a crash', async (_name, answer, msg) => {
    const { client } = await setup((_req, res) => answer(res));
    const r = await client.logs({ stream: {}, first_seq: 1, entries: [{ seq: 1 }], final: false }, 's');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe('transient');
      expect(r.message).toMatch(msg);
    }
  });

  it('ignores unknown fields (tolerant reader)', async () => {
    const { client } = await setup((_req, res) => json(res, 200, { ack_seq: 4, brand_new: { x: 1 } }));
    const r = await client.logs({ stream: {}, first_seq: 1, entries: [{ seq: 1 }], final: false }, 's');
    expect(r.ok && r.body).toEqual({ ack_seq: 4, cancel_requested: false, truncated: false });
  });

  it('classifies 429 with Retry-After and 409 log_gap with expected_seq', async () => {
    const { srv, client } = await setup((_req, res) => json(res, 429, { code: 'rate_limited' }, { 'retry-after': '7' }));
    const r1 = await client.heartbeat({});
    expect(!r1.ok && r1.kind === 'overload' && r1.retryAfterMs).toBe(7000);
    srv.setHandler((_req, res) => json(res, 409, { type: 'x', status: 409, code: 'log_gap', expected_seq: 1201 }));
    const r2 = await client.logs({ stream: {}, first_seq: 1300, entries: [{ seq: 1300 }], final: false }, 's');
    expect(!r2.ok && r2.kind).toBe('conflict');
    expect(!r2.ok && r2.problem?.expected_seq).toBe(1201);
    srv.setHandler((_req, res) => json(res, 401, { code: 'token_revoked', detail: 'token bka_testtoken_1234567890 revoked' }));
    const r3 = await client.heartbeat({});
    expect(!r3.ok && r3.kind).toBe('auth');
    expect(!r3.ok && r3.code).toBe('token_revoked');
  });

  it('treats 204 from the long-poll as "nothing to do" and times out at wait + 10 s', async () => {
    const { srv, client } = await setup((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const r = await client.poll(0, 1);
    expect(r.ok && r.status).toBe(204);
    expect(srv.seen[0]!.path).toBe('/api/v1/agent/tasks?wait=0&capacity=1');
  });

  it('refuses plain http to a loopback address without insecureLoopback', () => {
    expect(
      () => new OrchestratorClient({ url: 'http://127.0.0.1:1', token: () => null, identity: { agentVersion: '1', resticVersion: null, bootId: 'b' } }),
    ).toThrow(/insecure_loopback/);
  });
});
