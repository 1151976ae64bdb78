/**
 * The restic-monitor dialect through the REAL agent core: YAML config, `restic-agent enroll`, `createAgentCore`,
 * `TaskExecutor` → `trackRun` → the real `Restic` executor → real restic 0.14 / 0.19, against the fake server.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent-core.js';
import { FakeResticMonitorServer } from '../../fakes/restic-monitor-server.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { cli, makeCoreWorld, REPO_PASSWORD, startCore, until, type CoreWorld } from './core-world.js';

const TOKEN = 'rm-shared-token-Kx93';
const POLICY = '11111111-2222-4333-8444-555555555555';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function server(): Promise<FakeResticMonitorServer> {
  const s = await FakeResticMonitorServer.start({ token: TOKEN, nextTaskCheckAfterSeconds: 1 });
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
  const a = await until(() => [...s.agents.values()].find((x) => x.hostname === w.hostname), `registration of ${w.hostname}`);
  return a.id;
}

async function finished(s: FakeResticMonitorServer, taskId: string, ms?: number): Promise<string> {
  return until(() => {
    const st = s.tasks.get(taskId)?.status;
    return st === 'completed' || st === 'failed' ? st : null;
  }, `task ${taskId} to finish`, ms);
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
    await until(() => (s.agents.get(agentId)?.heartbeats ?? 0) >= 2, 'two heartbeats');
    expect(s.agents.get(agentId)).toMatchObject({ version: expect.any(String), lastBackupStatus: 'none' });
    expect(s.agents.get(agentId)?.disks).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: w.dataDir })]));
    expect((await c.getStatus()).orchestrator).toMatchObject({ url: s.url, connected: true });

    // Backup: the server sends the repository as it knows it (here with a trailing slash), never a password.
    const b1 = s.queueTask({ agentId, policyId: POLICY, type: 'backup', repository: `${w.repo}/`, includePaths: [w.src], excludePatterns: ['*.tmp'], retention: { keepLast: 1 } });
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
    expect(await historyOf(c, b1.id)).toEqual([expect.objectContaining({ kind: 'backup', trigger: 'task', repository: 'main', outcome: 'success', snapshotId: run1?.snapshotId })]);
    await until(() => s.agents.get(agentId)?.lastBackupStatus === 'success', 'lastBackupStatus success in a heartbeat');

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

    expect(s.requests.filter((r) => r.path.startsWith('/agents/') && r.path !== '/agents/register' && r.authorization !== `Bearer ${TOKEN}`)).toEqual([]);
    expect(logs.filter((l) => l.level === 'error')).toEqual([expect.objectContaining({ message: expect.stringMatching(/no local repository matches/) })]);
    expect(JSON.stringify(logs)).not.toContain(REPO_PASSWORD);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  }, 60_000);
});
