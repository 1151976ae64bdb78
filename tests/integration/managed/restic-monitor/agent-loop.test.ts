import { afterEach, describe, expect, it } from 'vitest';
import { RmAgent } from '../../../../src/main/core/managed/restic-monitor/agent.js';
import { rmMigrations } from '../../../../src/main/core/managed/restic-monitor/store.js';
import type { RmExecTask, RmTaskExecutor } from '../../../../src/main/core/managed/restic-monitor/types.js';
import { openStateDb } from '../../../../src/main/core/state/db.js';
import { FakeResticMonitorServer } from '../../../fakes/restic-monitor-server.js';
import { memorySecrets } from '../../../fakes/restic-monitor-secrets.js';
import { waitFor } from '../../../helpers/wait.js';

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Executor double: records start times, fails the first `failFirst` runs with a retryable error. */
function scripted(failFirst: number): RmTaskExecutor & { starts: Array<{ id: string; at: number; attempt: number; url: string }> } {
  const starts: Array<{ id: string; at: number; attempt: number; url: string }> = [];
  return {
    starts,
    execute(task: RmExecTask, ctl) {
      starts.push({ id: task.id, at: Date.now(), attempt: task.retryCount, url: task.access.url });
      ctl.onLog({ time: new Date().toISOString(), stream: 'stdout', text: `run ${starts.length}` });
      const fail = starts.length <= failFirst;
      return Promise.resolve({
        outcome: fail ? 'failed' : 'success',
        exitCode: fail ? 1 : 0,
        message: fail ? 'network timeout talking to backend' : 'ok',
        snapshotId: null,
        stats: null,
      });
    },
    findSnapshotForTask: () => Promise.resolve(null),
  };
}

async function agentFor(server: FakeResticMonitorServer, executor: RmTaskExecutor, hostname = 'unit-host') {
  const db = openStateDb(':memory:', rmMigrations);
  const agent = new RmAgent({
    url: server.url,
    db,
    secrets: memorySecrets(),
    insecureLoopback: true,
    executor,
    resolveRepository: (repo) => {
      // The agent core's resolver throws when a configured secret is missing from the secret store.
      if (repo === '/srv/secretless')
        throw new Error('repository "vault": the repository password is not in the secret store (file, account "repo:vault:password")');
      return repo === '/srv/r' ? { url: '/local/srv/r', password: { kind: 'value', value: 'pw' }, env: {} } : null;
    },
    hostname,
    agentVersion: '0.1.0-test',
    heartbeatIntervalMs: 1000,
    pollIntervalMs: 200,
    diskPaths: ['/'],
    ...(process.env.RM_DEBUG ? { logger: debugLogger() } : {}),
  });
  cleanup.push(() => agent.stop());
  await agent.start();
  return agent;
}

describe('RmAgent loop (fake server, scripted executor)', () => {
  it('heartbeats with the fields the server stores and waits for next_retry_at before re-running', async () => {
    const server = await FakeResticMonitorServer.start({ retryBaseSeconds: 2 });
    cleanup.push(() => server.close());
    const exec = scripted(1);
    const agent = await agentFor(server, exec);
    await waitFor('condition', () => agent.status().agentId !== null && (server.agents.get(agent.status().agentId ?? '')?.heartbeats ?? 0) > 0);
    const id = agent.status().agentId ?? '';
    expect(server.agents.get(id)).toMatchObject({ lastBackupStatus: 'none', os: process.platform });
    expect(server.agents.get(id)?.disks).toHaveLength(1);

    const t = server.queueTask({ agentId: id, type: 'check', repository: '/srv/r' });
    await waitFor('condition', () => server.tasks.get(t.id)?.status === 'completed');
    const task = server.tasks.get(t.id);
    expect(exec.starts).toHaveLength(2);
    expect(exec.starts[0]?.url).toBe('/local/srv/r'); // local credentials attached
    // The server handed the retry out at once (it does not enforce next_retry_at); the agent waited.
    expect(task?.handedOut).toBe(2);
    const acks = server.requests.filter((r) => r.path.endsWith('/ack'));
    expect(acks).toHaveLength(2);
    const retry = server.handouts.filter((h) => h.taskId === t.id)[1];
    const retryAt = Date.parse(retry?.nextRetryAt ?? '');
    expect(retry?.at ?? Infinity).toBeLessThan(retryAt);
    expect(exec.starts[1]?.attempt).toBe(1);
    expect(exec.starts[1]?.at ?? 0).toBeGreaterThanOrEqual(retryAt);
    expect(server.runs.get(t.id)?.submissions).toBe(2);
  });

  it('re-registers after the server lost its agents (heartbeat 404) and reports a repository it does not know', async () => {
    const server = await FakeResticMonitorServer.start();
    cleanup.push(() => server.close());
    const agent = await agentFor(server, scripted(0), 'lost-host');
    await waitFor('condition', () => agent.status().agentId !== null);
    const first = agent.status().agentId;
    server.loseAgents();
    await waitFor(
      'condition',
      () => {
        const now = agent.status().agentId;
        return now !== null && now !== first && server.agents.has(now);
      },
      10_000,
    );
    const id = agent.status().agentId ?? '';
    const t = server.queueTask({ agentId: id, type: 'check', repository: 's3:s3.amazonaws.com/unknown' });
    await waitFor('condition', () => server.tasks.get(t.id)?.status === 'failed');
    expect(server.runs.get(t.id)?.errorMessage).toMatch(/not found in the agent config/);
    expect(server.tasks.get(t.id)?.retry_count).toBe(0); // "not found" is non-retryable upstream
  });

  it('reports a task whose local credentials cannot be resolved, and keeps running later tasks', async () => {
    const server = await FakeResticMonitorServer.start();
    cleanup.push(() => server.close());
    const exec = scripted(0);
    const agent = await agentFor(server, exec, 'secretless-host');
    await waitFor('condition', () => agent.status().agentId !== null);
    const id = agent.status().agentId ?? '';
    const bad = server.queueTask({ agentId: id, type: 'check', repository: '/srv/secretless' });
    await waitFor('condition', () => server.tasks.get(bad.id)?.status === 'failed');
    expect(server.runs.get(bad.id)).toMatchObject({ status: 'failed', errorMessage: expect.stringMatching(/repo:vault:password/) });
    expect(server.tasks.get(bad.id)?.retry_count).toBe(0); // "not in the secret store" is reported as "not found"
    const good = server.queueTask({ agentId: id, type: 'check', repository: '/srv/r' });
    await waitFor('condition', () => server.tasks.get(good.id)?.status === 'completed');
    expect(exec.starts.map((x) => x.id)).toEqual([good.id]);
  });
});

function debugLogger() {
  const w = (lvl: string) => (m: string, f?: object) => console.log(new Date().toISOString(), lvl, m, f ? JSON.stringify(f) : '');
  const l = { debug: w('debug'), info: w('info'), warn: w('warn'), error: w('error'), forRun: () => l };
  return l;
}
