import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeResticMonitorServer } from '../../../fakes/restic-monitor-server.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { tempDir } from '../../../helpers/tmp.js';
import { initRepo, snapshots } from './restic-executor.js';
import { waitFor } from '../../../helpers/wait.js';

const PASSWORD = 'pw-restart-test';
const TOKEN = 'rm-token-restart';
const CHILD = fileURLToPath(new URL('./agent-child.ts', import.meta.url));
const children: ChildProcess[] = [];
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('restic-monitor agent restart', () => {
  const bin = resticBins().at(-1)?.path ?? '/usr/bin/restic';

  it('reports a task claimed before a crash after restart, without running it twice', async () => {
    const dir = tempDir('rm-restart-');
    const repo = join(dir, 'repo');
    const cache = join(dir, 'cache');
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'f.txt'), 'data\n');
    await initRepo(bin, repo, PASSWORD, cache);
    const server = await FakeResticMonitorServer.start({ token: TOKEN, nextTaskCheckAfterSeconds: 1 });
    cleanup.push(() => server.close());
    const base = {
      url: server.url,
      token: TOKEN,
      bin,
      repo,
      password: PASSWORD,
      cache,
      db: join(dir, 'state.db'),
      hostname: 'restart-host',
      commandsFile: join(dir, 'commands.txt'),
    };
    const marker = join(dir, 'hung');
    const run = (hangMarker: string | null): ChildProcess => {
      const c = spawn(process.execPath, ['--import', 'tsx', CHILD], {
        env: { ...process.env, RM_CHILD: JSON.stringify({ ...base, hangMarker }) },
        stdio: 'inherit',
      });
      children.push(c);
      return c;
    };

    const first = run(marker);
    await waitFor('condition', () => server.agents.size === 1, 60_000);
    const agentId = [...server.agents.keys()][0] ?? '';
    const t = server.queueTask({ agentId, type: 'backup', repository: repo + '/', includePaths: [src] });
    await waitFor('condition', () => existsSync(marker), 60_000); // restic made the snapshot; the result was never written
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(server.tasks.get(t.id)?.status).toBe('in-progress'); // upstream has no reaper: stuck without us

    const second = run(null);
    await waitFor('condition', () => server.tasks.get(t.id)?.status === 'completed', 60_000);
    const runRecord = server.runs.get(t.id);
    const snaps = await snapshots(bin, repo, PASSWORD, cache);
    expect(snaps).toHaveLength(1); // not backed up twice
    expect(runRecord).toMatchObject({ status: 'success', snapshotId: snaps[0]?.id, submissions: 1 });
    expect(server.runLog(t.id)).toMatch(/not run again/);
    expect(readFileSync(base.commandsFile, 'utf8').trim().split('\n')).toEqual(['backup']);
    expect(server.tasks.get(t.id)?.handedOut).toBe(1);
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }, 120_000);
});
