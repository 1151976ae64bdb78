/**
 * The restic-monitor dialect through the REAL agent core: YAML config, `restic-agent enroll`, `createAgentCore`,
 * `TaskExecutor` → `trackRun` → the real `Restic` executor → real restic 0.14 / 0.19, against the fake server.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startReferenceOrchestrator } from '../../../../reference-orchestrator/testing/index.js';
import type { AgentCore } from '../../../../src/main/core/agent/contract.js';
import { FakeResticMonitorServer, goTime } from '../../../fakes/restic-monitor-server.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { tempDir } from '../../../helpers/tmp.js';
import { cli, cliRun, makeCoreWorld, REPO_PASSWORD, startCore, type CoreWorld } from './core-world.js';
import { waitFor, sleep } from '../../../helpers/wait.js';

const TOKEN = 'rm-shared-token-Kx93';
const POLICY = '11111111-2222-4333-8444-555555555555';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const cleanup: Array<() => Promise<unknown>> = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function server(token: string | null = TOKEN): Promise<FakeResticMonitorServer> {
  const s = await FakeResticMonitorServer.start({ ...(token ? { token } : {}), nextTaskCheckAfterSeconds: 1 });
  cleanup.push(() => s.close());
  return s;
}

async function core(w: CoreWorld): Promise<Awaited<ReturnType<typeof startCore>>> {
  const c = await startCore(w);
  cleanup.push(() => c.core.stop());
  return c;
}

/** The agent the server knows under the world's hostname (registration is by hostname). */
async function registered(s: FakeResticMonitorServer, w: CoreWorld): Promise<string> {
  const a = await waitFor(`registration of ${w.hostname}`, () => [...s.agents.values()].find((x) => x.hostname === w.hostname), 45_000);
  return a.id;
}

async function finished(s: FakeResticMonitorServer, taskId: string, ms?: number): Promise<string> {
  return waitFor(
    `task ${taskId} to finish`,
    () => {
      const st = s.tasks.get(taskId)?.status;
      return st === 'completed' || st === 'failed' ? st : null;
    },
    ms,
  );
}

async function historyOf(c: AgentCore, taskId: string) {
  return (await c.getHistory({ limit: 100 })).filter((r) => r.taskId === taskId);
}

describe.each(resticBins())('restic-monitor through the agent core with $label', ({ path: bin }) => {
  it('enrolls, registers, heartbeats and runs backup, check and prune tasks with real restic', async () => {
    const s = await server();
    const w = await makeCoreWorld(bin, { url: s.url, protocol: 'restic-monitor' });
    const enrolled = await cli(w, '--json', 'enroll', '--url', s.url, '--token', TOKEN, '--protocol', 'restic-monitor', '--insecure-loopback');
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(JSON.parse(enrolled.stdout)).toMatchObject({ dialect: 'restic-monitor', agentId: null });
    expect(readFileSync(w.configPath, 'utf8')).not.toContain(TOKEN); // the credential is in the secret store only
    expect(s.requests.filter((r) => r.authorization !== null)).toHaveLength(0); // enrolling sends nothing with it

    const { core: c, logs } = await core(w);
    const agentId = await registered(s, w);
    expect(agentId).toMatch(UUID);
    await waitFor('two heartbeats', () => (s.agents.get(agentId)?.heartbeats ?? 0) >= 2, 45_000);
    expect(s.agents.get(agentId)).toMatchObject({ version: expect.any(String), lastBackupStatus: 'none' });
    expect(s.agents.get(agentId)?.disks).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: w.dataDir })]));
    expect((await c.getStatus()).orchestrator).toMatchObject({ url: s.url, connected: true });

    // Backup: the server sends the repository as it knows it (here with a trailing slash), never a password.
    const b1 = s.queueTask({
      agentId,
      policyId: POLICY,
      type: 'backup',
      repository: `${w.repo}/`,
      includePaths: [w.src],
      excludePatterns: ['*.tmp'],
      retention: { keepLast: 1 },
    });
    expect(await finished(s, b1.id)).toBe('completed');
    const run1 = s.runs.get(b1.id);
    expect(run1).toMatchObject({ status: 'success', policyId: POLICY, errorMessage: null, submissions: 1 });
    expect(Number.isInteger(run1?.durationSeconds)).toBe(true);
    const tagged = await w.snapshots(`task=${b1.id}`);
    expect(tagged).toHaveLength(1);
    expect(tagged[0]?.id).toBe(run1?.snapshotId); // the full id, as restic stores it
    expect(tagged[0]?.tags).toEqual(expect.arrayContaining([`task=${b1.id}`, `policy:${POLICY}`]));
    expect(tagged[0]?.paths).toEqual([w.src]);
    expect(s.runLog(b1.id)).toMatch(new RegExp(`backup succeeded after \\d+ s \\(exit 0\\)[^]*snapshot ${run1?.snapshotId} saved[^]*files 2 new`));
    expect(s.runLog(b1.id)).not.toContain(REPO_PASSWORD);
    // The same history and queue as local runs.
    expect(await historyOf(c, b1.id)).toEqual([
      expect.objectContaining({ kind: 'backup', trigger: 'task', repository: 'main', outcome: 'success', snapshotId: run1?.snapshotId }),
    ]);
    await waitFor('lastBackupStatus success in a heartbeat', () => s.agents.get(agentId)?.lastBackupStatus === 'success', 45_000);

    const b2 = s.queueTask({ agentId, policyId: POLICY, type: 'backup', repository: w.repo, includePaths: [w.src], excludePatterns: ['*.tmp'] });
    expect(await finished(s, b2.id)).toBe('completed');
    expect(await w.snapshots()).toHaveLength(2);

    const check = s.queueTask({ agentId, policyId: POLICY, type: 'check', repository: w.repo });
    expect(await finished(s, check.id)).toBe('completed');
    expect(s.runs.get(check.id)).toMatchObject({ status: 'success', policyId: POLICY, snapshotId: null, errorMessage: null });
    expect(s.runLog(check.id)).toMatch(/check succeeded after \d+ s \(exit 0\)/);

    const prune = s.queueTask({ agentId, policyId: POLICY, type: 'prune', repository: w.repo, retention: { keepLast: 1 } });
    expect(await finished(s, prune.id)).toBe('completed');
    expect(s.runs.get(prune.id)).toMatchObject({ status: 'success', policyId: POLICY, errorMessage: null });
    const left = await w.snapshots();
    expect(left.map((x) => x.tags)).toEqual([expect.arrayContaining([`task=${b2.id}`])]);
    expect((await historyOf(c, prune.id))[0]).toMatchObject({ kind: 'prune', trigger: 'task', outcome: 'success' });

    // A repository the agent has no credentials for: reported as failed, not retried by the server.
    const unknown = s.queueTask({ agentId, policyId: POLICY, type: 'check', repository: '/nowhere/repo' });
    expect(await finished(s, unknown.id)).toBe('failed');
    expect(s.runs.get(unknown.id)).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/not found in the agent config/) });
    // Acked before its result, like every task that reaches the agent, and the result carries a log that says why.
    const steps = s.requests
      .filter((r) => r.path.endsWith(`/tasks/${unknown.id}/ack`) || (r.path.endsWith('/task-results') && r.body.includes(unknown.id)))
      .map((r) => (r.path.endsWith('/ack') ? 'ack' : 'result'));
    expect(steps).toEqual(['ack', 'result']);
    expect(s.tasks.get(unknown.id)?.acknowledged_at).toBeTruthy();
    expect(s.runLog(unknown.id)).toMatch(/check task .* not started: repository \/nowhere\/repo not found in the agent config/);
    // A configured repository whose password is missing from the secret store: same, and the agent carries on.
    const vault = s.queueTask({ agentId, policyId: POLICY, type: 'check', repository: `${w.repo}-vault` });
    expect(await finished(s, vault.id)).toBe('failed');
    expect(s.runs.get(vault.id)).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/not found: .*repo:vault:password/) });
    const again = s.queueTask({ agentId, policyId: POLICY, type: 'check', repository: w.repo });
    expect(await finished(s, again.id)).toBe('completed');

    expect(s.requests.filter((r) => r.path.startsWith('/agents/') && r.path !== '/agents/register' && r.authorization !== `Bearer ${TOKEN}`)).toEqual([]);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/no usable local repository/),
      expect.stringMatching(/no usable local repository/),
    ]);
    expect(JSON.stringify(logs)).not.toContain(REPO_PASSWORD);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  }, 60_000);
});

const newest = resticBins().at(-1)?.path ?? '/usr/bin/restic';

/** Requests `detectDialect` sends: first a v1 `POST /api/v1/agent/heartbeat` (§2.2 headers, no credential). */
const probes = (s: FakeResticMonitorServer) => s.requests.filter((r) => r.path === '/api/v1/agent/heartbeat' && r.method === 'POST');

function setProtocol(w: CoreWorld, protocol: string): void {
  const yaml = readFileSync(w.configPath, 'utf8');
  writeFileSync(w.configPath, yaml.replace(/protocol: [a-z0-9-]+/, `protocol: ${protocol}`));
}

describe(`restic-monitor through the agent core: failures (restic ${newest})`, () => {
  it('keeps a result produced during a server outage and delivers it once, after the server is back', async () => {
    const s = await server();
    const w = await makeCoreWorld(newest, null);
    const { core: c } = await core(w); // standalone first; enrolled from the running agent (the wizard's path)
    await expect(c.enroll({ url: s.url, token: TOKEN, caFile: null, protocol: 'restic-monitor', insecureLoopback: true })).resolves.toMatchObject({
      dialect: 'restic-monitor',
    });
    const agentId = await registered(s, w);

    let downAt = 0;
    s.onAck = () => {
      s.onAck = null;
      setTimeout(() => void s.goDown().then(() => (downAt = Date.now())), 20); // the server dies while restic runs
    };
    const t = s.queueTask({ agentId, policyId: POLICY, type: 'backup', repository: w.repo, includePaths: [w.src] });
    const [rec] = await waitFor(
      'the backup to finish locally',
      async () => {
        const h = await historyOf(c, t.id);
        return h[0]?.endedAt ? h : null;
      },
      45_000,
    );
    expect(rec).toMatchObject({ outcome: 'success' });
    expect(downAt).toBeGreaterThan(0);
    await sleep(2500); // several failed sends
    expect((await c.getStatus()).orchestrator).toMatchObject({ connected: false });
    expect(s.runs.has(t.id)).toBe(false);

    await s.comeBack();
    expect(await finished(s, t.id, 60_000)).toBe('completed');
    expect(s.runs.get(t.id)).toMatchObject({ status: 'success', submissions: 1, snapshotId: rec?.snapshotId });
    expect(await w.snapshots()).toHaveLength(1);
    await waitFor('connected again', async () => (await c.getStatus()).orchestrator?.connected, 45_000);
  }, 60_000);

  it('keeps a claimed task across a crash of `restic-agent run` and runs it once after the restart', async () => {
    const s = await server();
    const w = await makeCoreWorld(newest, { url: s.url, protocol: 'restic-monitor' });
    expect((await cli(w, 'enroll', '--url', s.url, '--token', TOKEN, '--protocol', 'restic-monitor', '--insecure-loopback')).code).toBe(0);
    const first = cliRun(w);
    children.push(first.child);
    const agentId = await registered(s, w);
    const t = s.queueTask({ agentId, policyId: POLICY, type: 'backup', repository: w.repo, includePaths: [w.src] });
    const due = Date.now() + 4000;
    t.scheduled_for = goTime(due); // not enforced by the server: handed out now, run by the agent when due
    await waitFor(`the claim; agent stderr: ${first.stderr()}`, () => t.handedOut === 1, 20_000);
    await sleep(300); // the claim is persisted before anything else
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(t.status).toBe('assigned'); // claimed, not acked: the server will never hand it out again
    expect(await w.snapshots()).toHaveLength(0);

    const second = cliRun(w);
    children.push(second.child);
    expect(await finished(s, t.id, 45_000), second.stderr()).toBe('completed');
    expect(Date.parse(t.acknowledged_at ?? '')).toBeGreaterThanOrEqual(due - 1000); // honoured scheduled_for
    const snaps = await w.snapshots(`task=${t.id}`);
    expect(snaps).toHaveLength(1);
    expect(s.runs.get(t.id)).toMatchObject({ status: 'success', submissions: 1, snapshotId: snaps[0]?.id });
    expect(t.handedOut).toBe(1);
    expect(await w.snapshots()).toHaveLength(1); // run once
    second.child.kill('SIGTERM');
    expect(await new Promise((r) => second.child.once('exit', (code) => r(code)))).toBe(0);
  }, 60_000);
});

describe(`protocol: auto through the agent core (restic ${newest})`, () => {
  it('detects a restic-monitor server, remembers it, and starts without probing when the server is down', async () => {
    const s = await server();
    const w = await makeCoreWorld(newest, { url: s.url, protocol: 'auto' });
    // The deprecated way: the credential written in the YAML; the agent moves it into the secret store.
    writeFileSync(w.configPath, readFileSync(w.configPath, 'utf8').replace('insecure_loopback: true }', `insecure_loopback: true, token: ${TOKEN} }`));
    const first = await core(w);
    const agentId = await registered(s, w);
    // Removed from the file once the server accepted it (an authenticated 2xx), not before.
    await waitFor('the YAML token removed after it was proven', () => !readFileSync(w.configPath, 'utf8').includes(TOKEN), 45_000);
    expect(readFileSync(w.configPath, 'utf8')).toContain('protocol: auto');
    expect(s.requests.some((r) => r.path === '/agents/register' && r.authorization === null)).toBe(false); // no credential-less rm request
    expect(probes(s)).toEqual([expect.objectContaining({ authorization: null, status: 401 })]); // no credential to an unknown server
    expect(first.logs.map((l) => l.message)).toContain(`orchestrator at ${s.url} speaks the restic-monitor API (remembered)`);
    const check = s.queueTask({ agentId, policyId: POLICY, type: 'check', repository: w.repo });
    expect(await finished(s, check.id)).toBe('completed');
    await first.core.stop();

    await s.goDown();
    const second = await core(w);
    expect((await second.core.getStatus()).orchestrator).toMatchObject({ url: s.url }); // started from memory
    expect(second.logs.filter((l) => l.level === 'error')).toEqual([]);
    await s.comeBack();
    const beats = s.agents.get(agentId)?.heartbeats ?? 0;
    await waitFor('heartbeats after the restart', () => (s.agents.get(agentId)?.heartbeats ?? 0) > beats, 45_000);
    expect(probes(s)).toHaveLength(1);
    expect(s.agents.size).toBe(1);
  }, 45_000);

  it('detects a protocol-v1 orchestrator at enrollment and at start, and remembers it', async () => {
    const dir = tempDir('rm-core-v1-');
    const orch = await startReferenceOrchestrator(dir, { options: { heartbeatIntervalS: 1, pollWaitMaxS: 2 } });
    cleanup.push(() => orch.stop());
    const w = await makeCoreWorld(newest, null);
    const first = await core(w);
    const et = await orch.admin.createEnrollmentToken({});
    const enrolled = await first.core.enroll({ url: orch.url, token: et.token, caFile: null, protocol: 'auto', insecureLoopback: true });
    expect(enrolled).toMatchObject({ dialect: 'v1', agentId: expect.any(String) });
    const agentId = enrolled.agentId ?? '';
    expect(readFileSync(w.configPath, 'utf8')).toMatch(/protocol: v1/);
    expect(readFileSync(w.configPath, 'utf8')).not.toContain(et.token);
    await waitFor('a v1 heartbeat', async () => (await orch.admin.getAgent(agentId)).heartbeats > 0, 45_000);
    await first.core.stop();

    setProtocol(w, 'auto'); // a user who prefers `auto` in the file
    const second = await core(w);
    expect(second.logs.map((l) => l.message)).toContain(`orchestrator at ${orch.url} speaks protocol v1 (remembered)`);
    const beats = (await orch.admin.getAgent(agentId)).heartbeats;
    await waitFor('v1 heartbeats with protocol: auto', async () => (await orch.admin.getAgent(agentId)).heartbeats > beats, 45_000);
    await second.core.stop();

    await orch.stop();
    const third = await core(w);
    expect((await third.core.getStatus()).orchestrator).toMatchObject({ url: orch.url });
    expect(third.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(third.logs.map((l) => l.message).join('\n')).not.toMatch(/speaks protocol v1/); // not probed again
    await orch.restart();
    const before = (await orch.admin.getAgent(agentId)).heartbeats;
    await waitFor('v1 heartbeats after the orchestrator is back', async () => (await orch.admin.getAgent(agentId)).heartbeats > before, 45_000);
  }, 45_000);
});
