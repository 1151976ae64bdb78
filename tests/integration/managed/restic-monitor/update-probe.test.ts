// The heartbeat probe of the update health check (`update self-check` in managed mode) in the restic-monitor
// dialect, through the real agent core as `self-check` starts it: it registers (or reuses the stored id), sends one
// heartbeat and polls for no task; a credential the server refuses makes it fail, so the new version is not swapped in.
import { writeFileSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgentCore } from '../../../../src/main/core/agent/create.js';
import { FakeResticMonitorServer } from '../../../fakes/restic-monitor-server.js';
import { resticBins } from '../../../helpers/restic-bins.js';
import { cli, makeCoreWorld, type CoreWorld } from './core-world.js';

const TOKEN = 'rm-shared-token-Pq27';
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function server(token: string): Promise<FakeResticMonitorServer> {
  const s = await FakeResticMonitorServer.start({ token, nextTaskCheckAfterSeconds: 1 });
  cleanup.push(() => s.close());
  return s;
}

/** What `update self-check` does: a core that schedules nothing, then the probe. */
async function probe(w: CoreWorld): Promise<void> {
  const core = await createAgentCore({ configPath: w.configPath, dataDir: w.dataDir, schedule: false });
  try {
    await core.probeOrchestrator();
  } finally {
    await core.stop();
  }
}

describe('the update health check’s probe (restic-monitor)', () => {
  it('registers, sends one heartbeat and polls for nothing; a refused credential fails it', async () => {
    const s = await server(TOKEN);
    const w = await makeCoreWorld(resticBins().at(-1)!.path, { url: s.url, protocol: 'restic-monitor' });
    const enrolled = await cli(w, 'enroll', '--url', s.url, '--token', TOKEN, '--protocol', 'restic-monitor', '--insecure-loopback');
    expect(enrolled.code, enrolled.stderr).toBe(0);

    await probe(w);
    const agents = [...s.agents.values()].filter((a) => a.hostname === w.hostname);
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ heartbeats: 1 });
    expect(s.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/tasks'))).toHaveLength(0);

    // The same server, now refusing this credential (another orchestrator's token in the store).
    const other = await server('rm-another-token-Zz11');
    writeFileSync(w.configPath, readFileSync(w.configPath, 'utf8').replace(s.url, other.url));
    await expect(probe(w)).rejects.toThrow(/cannot register with the orchestrator: .*(401|unauthori[sz]ed)/i);
    expect([...other.agents.values()]).toHaveLength(0);
  }, 60_000);
});
