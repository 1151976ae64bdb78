import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rmTokenAccount, RmApiClient, RmHttpError, checkBaseUrl } from '../../../../src/main/core/managed/restic-monitor/api.js';
import { FakeResticMonitorServer } from '../../../fakes/restic-monitor-server.js';
import { memorySecrets } from '../../../fakes/restic-monitor-secrets.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

async function setup(opts: ConstructorParameters<typeof RmApiClient>[0] extends infer O ? Partial<O> : never = {}) {
  const server = await FakeResticMonitorServer.start({ token: 'tok-123456' });
  const api = new RmApiClient({ baseUrl: server.url, secrets: memorySecrets({ [rmTokenAccount(server.url)]: 'tok-123456' }), insecureLoopback: true, ...opts });
  cleanup.push(
    () => server.close(),
    () => api.close(),
  );
  return { server, api };
}

const reg = { hostname: 'host-a', os: 'linux', arch: 'x64', version: '0.1.0' };

describe('RmApiClient against the fake server', () => {
  it('registers (201) then re-registers the same hostname (200, same id)', async () => {
    const { server, api } = await setup();
    const a = await api.register(reg);
    const b = await api.register(reg);
    expect(a.created).toBe(true);
    expect(b).toEqual({ agentId: a.agentId, created: false });
    expect(server.requests[0]?.authorization).toBe('Bearer tok-123456');
  });

  it('reads a 401 text body and says what to fix', async () => {
    const { server } = await setup();
    const bad = new RmApiClient({ baseUrl: server.url, secrets: memorySecrets({ [rmTokenAccount(server.url)]: 'wrong' }), insecureLoopback: true });
    cleanup.push(() => bad.close());
    const e = await bad.register(reg).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RmHttpError);
    expect((e as RmHttpError).status).toBe(401);
    expect((e as RmHttpError).body).toBe('Unauthorized\n');
    expect((e as RmHttpError).message).toMatch(/token/);
  });

  it('supports HTTP Basic with user:password from the secret store', async () => {
    const server = await FakeResticMonitorServer.start({ basic: { username: 'admin', password: 'p:w' } });
    const api = new RmApiClient({
      baseUrl: server.url,
      secrets: memorySecrets({ creds: 'admin:p:w' }),
      auth: { scheme: 'basic', account: 'creds' },
      insecureLoopback: true,
    });
    cleanup.push(
      () => server.close(),
      () => api.close(),
    );
    expect((await api.register(reg)).created).toBe(true);
  });

  it('heartbeat: 404 JSON → agentNotFound; ok → the server interval', async () => {
    const { server, api } = await setup();
    const { agentId } = await api.register(reg);
    expect(
      await api.heartbeat(agentId, {
        version: '1',
        os: 'linux',
        uptimeSeconds: 5,
        lastBackupStatus: 'none',
        disks: [{ mountPath: '/', freeBytes: 1, totalBytes: 2 }],
      }),
    ).toEqual({ nextTaskCheckAfterSeconds: 30 });
    expect(server.agents.get(agentId)).toMatchObject({ uptimeSeconds: 5, lastBackupStatus: 'none', heartbeats: 1 });
    server.loseAgents();
    const e = (await api.heartbeat(agentId, { version: '1', os: 'linux' }).catch((x: unknown) => x)) as RmHttpError;
    expect(e.agentNotFound).toBe(true);
    expect(e.transient).toBe(false);
  });

  it('poll claims (a second poll returns nothing), ack, result', async () => {
    const { server, api } = await setup();
    const { agentId } = await api.register(reg);
    const t = server.queueTask({ agentId, type: 'check', repository: '/srv/r' });
    const got = await api.pollTasks(agentId, 1);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ id: t.id, task_type: 'check', status: 'assigned', retries_remaining: 3 });
    expect(await api.pollTasks(agentId, 1)).toEqual([]);
    await api.ack(agentId, t.id);
    expect(server.tasks.get(t.id)?.status).toBe('in-progress');
    await api.submitResult(agentId, { taskId: t.id, policyId: t.policy_id, taskType: 'check', status: 'success', durationSeconds: 3, log: 'done' });
    expect(server.tasks.get(t.id)?.status).toBe('completed');
    expect(server.runLog(t.id)).toBe('done');
    const e = (await api.ack(agentId, '00000000-0000-4000-8000-000000000000').catch((x: unknown) => x)) as RmHttpError;
    expect([e.status, e.body]).toEqual([404, 'Task not found\n']);
  });

  it('400 validation body is parsed as JSON and not transient', async () => {
    const { api } = await setup();
    const e = (await api.register({ ...reg, hostname: '' }).catch((x: unknown) => x)) as RmHttpError;
    expect(e.status).toBe(400);
    expect(e.body).toEqual({ error: 'Validation failed', details: 'hostname is required and cannot be empty' });
    expect(e.transient).toBe(false);
  });

  it('treats a refused connection, a 2xx HTML page and a malformed 2xx body as transient', async () => {
    const bodies = ['<html>proxy</html>', '{"agentId":"not-a-uuid"}'];
    const srv: Server = createServer((_q, s) => s.writeHead(200, { 'content-type': 'text/html' }).end(bodies.shift()));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => srv.close(r)));
    const api = new RmApiClient({ baseUrl: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, secrets: memorySecrets(), insecureLoopback: true });
    cleanup.push(() => api.close());
    const e1 = (await api.register(reg).catch((x: unknown) => x)) as RmHttpError;
    expect([e1.status, e1.transient]).toEqual([200, true]);
    const e2 = (await api.register(reg).catch((x: unknown) => x)) as RmHttpError;
    expect(e2.message).toMatch(/agentId/);
    expect(e2.transient).toBe(true);
    const down = new RmApiClient({ baseUrl: 'http://127.0.0.1:1', secrets: memorySecrets(), insecureLoopback: true });
    cleanup.push(() => down.close());
    const e3 = (await down.register(reg).catch((x: unknown) => x)) as RmHttpError;
    expect([e3.status, e3.transient]).toEqual([null, true]);
  });

  it('refuses plain http to non-loopback hosts and strips trailing slashes', () => {
    expect(() => checkBaseUrl('http://monitor.lan:8080', true)).toThrow(/https/);
    expect(() => checkBaseUrl('http://127.0.0.1:8080', false)).toThrow(/insecure_loopback/);
    expect(checkBaseUrl('https://monitor.lan:8080/', false)).toBe('https://monitor.lan:8080');
  });
});
