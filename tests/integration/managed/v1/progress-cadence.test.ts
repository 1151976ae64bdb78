/**
 * Issue #10 item 4 (spec §5.5.5): progress reports of one attempt are at least `progress_interval_s` apart on the
 * wire — including the first one after `running` — while state changes and the terminal report are not delayed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, makeWorld, settled, type World } from './harness.js';

let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

describe('progress reporting cadence', () => {
  it('holds progress_interval_s = 2 between any two progress reports, and sends the terminal one at once', async () => {
    w = await makeWorld({ record: true, server: { progressIntervalS: 2 } });
    w.executor.plan = { durationMs: 7_000, logLines: 3 };
    const task = await w.orch.admin.createTask(w.agentId, 'backup', { paths: ['/data'] }, { repo: REPO });
    await settled(w, task.task_id, ['succeeded'], 30_000);
    const reports = w
      .recorder!.log.filter((r) => r.path === `/api/v1/agent/tasks/${task.task_id}/status` && r.status === 200)
      .map((r) => ({ t: r.t, state: (JSON.parse(r.req) as { state: string; status_seq: number }).state }));
    const states = reports.map((r) => r.state);
    expect(states[0]).toBe('claimed');
    expect(states.at(-1)).toBe('succeeded');
    const running = reports.filter((r) => r.state === 'running');
    expect(running.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < running.length; i++) expect(running[i]!.t - running[i - 1]!.t, `gap before running report ${i}`).toBeGreaterThanOrEqual(1_950);
    // The terminal report follows the end of the run promptly, not after another interval.
    const last = running.at(-1)!;
    expect(reports.at(-1)!.t - last.t).toBeLessThan(2_000 + 1_500);
  }, 40_000);
});
