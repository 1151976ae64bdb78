import { rmTokenAccount } from '../../../../src/main/core/managed/restic-monitor/api.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RmAgent } from '../../../../src/main/core/managed/restic-monitor/agent.js';
import { rmMigrations } from '../../../../src/main/core/managed/restic-monitor/store.js';
import { repositoryMatchKey } from '../../../../src/main/core/managed/restic-monitor/task.js';
import { openStateDb } from '../../../../src/main/core/state/db.js';
import { FakeResticMonitorServer } from '../../../fakes/restic-monitor-server.js';
import { memorySecrets } from '../../../fakes/restic-monitor-secrets.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { tempDir } from '../../../helpers/tmp.js';
import { TestResticExecutor, initRepo, snapshots } from './restic-executor.js';
import { waitFor, sleep } from '../../../helpers/wait.js';

const PASSWORD = 'correct horse battery staple';
const TOKEN = 'rm-token-abcdef';
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function world(bin: string) {
  const dir = tempDir('rm-e2e-');
  const repo = join(dir, 'repo');
  const cache = join(dir, 'cache');
  const src = join(dir, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'hello restic-monitor\n');
  writeFileSync(join(src, 'sub', 'b.txt'), 'b'.repeat(10_000));
  writeFileSync(join(src, 'skip.tmp'), 'excluded');
  await initRepo(bin, repo, PASSWORD, cache);
  const server = await FakeResticMonitorServer.start({ token: TOKEN, nextTaskCheckAfterSeconds: 1 });
  cleanup.push(() => server.close());
  return { dir, repo, cache, src, server };
}

function startAgent(w: Awaited<ReturnType<typeof world>>, executor: TestResticExecutor, dbFile: string): RmAgent {
  const agent = new RmAgent({
    url: w.server.url,
    db: openStateDb(dbFile, rmMigrations),
    secrets: memorySecrets({ [rmTokenAccount(w.server.url)]: TOKEN }),
    insecureLoopback: true,
    executor,
    // The agent core's job: local credentials for the repository the server names (it never sends passwords).
    resolveRepository: (r) =>
      repositoryMatchKey(r) === repositoryMatchKey(w.repo) ? { url: w.repo, password: { kind: 'value', value: PASSWORD }, env: {} } : null,
    hostname: `e2e-${Math.random().toString(36).slice(2, 8)}`,
    agentVersion: '0.1.0-test',
    heartbeatIntervalMs: 1000,
    diskPaths: [w.dir],
  });
  cleanup.push(() => agent.stop());
  return agent;
}

describe.each(resticBins())('restic-monitor end to end with $label', ({ path: bin }) => {
  it('runs backup, check and prune tasks from the server and reports them', async () => {
    const w = await world(bin);
    const exec = new TestResticExecutor(bin, w.cache);
    const agent = startAgent(w, exec, join(w.dir, 'state.db'));
    await agent.start();
    await waitFor('condition', () => agent.status().agentId !== null, 45_000);
    const agentId = agent.status().agentId ?? '';
    const policyId = '11111111-2222-4333-8444-555555555555';
    const backup = () =>
      w.server.queueTask({
        agentId,
        policyId,
        type: 'backup',
        repository: w.repo + '/',
        includePaths: [w.src],
        excludePatterns: ['*.tmp'],
        retention: { keepLast: 1 },
      });

    const b1 = backup();
    await waitFor('condition', () => w.server.tasks.get(b1.id)?.status === 'completed', 45_000);
    const run1 = w.server.runs.get(b1.id);
    expect(run1).toMatchObject({ status: 'success', policyId, submissions: 1 });
    // restic 0.14's summary carries the short id, newer ones the full id.
    expect(run1?.snapshotId).toMatch(/^[0-9a-f]{8}(?:[0-9a-f]{56})?$/);
    expect(w.server.runLog(b1.id)).toContain('"message_type":"summary"');
    const tagged = await snapshots(bin, w.repo, PASSWORD, w.cache, `task=${b1.id}`);
    expect(tagged).toHaveLength(1);
    expect(tagged[0]?.id.startsWith(run1?.snapshotId ?? '-')).toBe(true);
    expect(w.server.agents.get(agentId)?.lastBackupStatus).toBeDefined();

    const b2 = backup();
    await waitFor('condition', () => w.server.tasks.get(b2.id)?.status === 'completed', 45_000);
    expect(await snapshots(bin, w.repo, PASSWORD, w.cache)).toHaveLength(2);

    const check = w.server.queueTask({ agentId, policyId, type: 'check', repository: w.repo, retention: { keepLast: 1 } });
    await waitFor('condition', () => w.server.tasks.get(check.id)?.status === 'completed', 45_000);
    expect(w.server.runLog(check.id)).toMatch(/no errors were found/);

    const prune = w.server.queueTask({ agentId, policyId, type: 'prune', repository: w.repo, retention: { keepLast: 1 } });
    await waitFor('condition', () => w.server.tasks.get(prune.id)?.status === 'completed', 45_000);
    const left = await snapshots(bin, w.repo, PASSWORD, w.cache);
    expect(left).toHaveLength(1);
    expect(left[0]?.tags).toContain(`task=${b2.id}`);
    expect(exec.commands.map((c) => c[0])).toEqual(['backup', 'backup', 'check', 'forget']);
    // Heartbeats carried what the server stores.
    expect(w.server.agents.get(agentId)).toMatchObject({ lastBackupStatus: 'success' });
    expect(w.server.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});

describe('restic-monitor outage', () => {
  const bin = resticBins().at(-1)?.path ?? '/usr/bin/restic';

  it('keeps the result while the server is down and delivers it once it is back', async () => {
    const w = await world(bin);
    const exec = new TestResticExecutor(bin, w.cache);
    const agent = startAgent(w, exec, join(w.dir, 'state.db'));
    await agent.start();
    await waitFor('condition', () => agent.status().agentId !== null, 45_000);
    const agentId = agent.status().agentId ?? '';
    const t = w.server.queueTask({ agentId, type: 'backup', repository: w.repo, includePaths: [w.src] });
    await waitFor('condition', () => w.server.tasks.get(t.id)?.status === 'in-progress', 45_000); // acked before restic starts
    await w.server.goDown();
    await waitFor('condition', () => agent.status().running === null && agent.status().outbox === 1, 45_000);
    await sleep(2500); // several failed sends
    expect(agent.status().outbox).toBe(1);
    expect(agent.status().connected).toBe(false);
    await w.server.comeBack();
    await waitFor('condition', () => w.server.tasks.get(t.id)?.status === 'completed', 90_000);
    expect(w.server.runs.get(t.id)?.submissions).toBe(1);
    expect(agent.status().outbox).toBe(0);
    expect(await snapshots(bin, w.repo, PASSWORD, w.cache)).toHaveLength(1);
  }, 120_000);
});
