import { describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { history, initRepo, randomSource, startCore, t, writeConfig } from './harness.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** A small source on an `every <interval>` policy; the first run comes 1 s (catch_up_delay) after start. */
async function setup(binary: string, interval: string): Promise<{ dir: string; src: string }> {
  const dir = tempDir('rma-sched-');
  const repo = await initRepo(binary, dir, 'r');
  const src = randomSource(dir, 's', 0);
  writeConfig(dir, binary, [
    `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
    `policies: { tick: { schedule: every ${interval} } }`,
    `backup: { sources: [ { path: ${src}, policy: tick } ] }`,
  ]);
  return { dir, src };
}

const finished = (core: AgentCore, n: number) => async () => {
  const h = await history(core);
  return h.length >= n && h.every((r) => r.endedAt !== null) && h;
};

describe.each(resticBins())('pause and catch-up through the agent core with $label', ({ path: binary }) => {
  it('a pause survives a restart; the run missed meanwhile happens once, after resume', async () => {
    const { dir } = await setup(binary, '5s');
    const first = await startCore(dir);
    let core = first;
    try {
      const until = new Date(Date.now() + 60_000).toISOString();
      await first.pause(until);
      await sleep(1500); // the first run came due (1 s after start) while paused
      await first.stop();

      core = await startCore(dir);
      const status = await core.getStatus();
      expect(status.pausedUntil).toBe(until);
      expect(status.state).toBe('paused');
      await sleep(1500); // due again after this start: still skipped
      expect(await history(core)).toEqual([]);

      const resumedAt = Date.now();
      await core.resume();
      expect((await core.getStatus()).pausedUntil).toBeNull();
      const [run] = await waitFor('the catch-up run', finished(core, 1), 15_000);
      expect(run).toMatchObject({ kind: 'backup', trigger: 'catch-up', outcome: 'success' });
      expect(t(run!.startedAt) - resumedAt).toBeGreaterThanOrEqual(900); // after catch_up_delay
      // Once: nothing else starts before the next regular run, 5 s after the catch-up.
      await sleep(Math.max(0, t(run!.startedAt) + 3000 - Date.now()));
      expect(await history(core)).toHaveLength(1);
    } finally {
      await core.stop();
    }
  });

  it('runs missed while the agent was stopped are caught up exactly once, and a second restart adds none', async () => {
    const { dir } = await setup(binary, '4s');
    let core = await startCore(dir);
    try {
      const [scheduled] = await waitFor('the first scheduled run', finished(core, 1), 15_000);
      expect(scheduled).toMatchObject({ trigger: 'schedule', outcome: 'success' });
      await core.stop();
      // Two occurrences (4 s and 8 s after the run) pass while no agent is running.
      await sleep(Math.max(0, t(scheduled!.startedAt) + 8500 - Date.now()));

      const startedAt = Date.now();
      core = await startCore(dir);
      const runs = await waitFor('the catch-up run', finished(core, 2), 15_000);
      const catchUp = runs[1]!;
      expect(catchUp).toMatchObject({ trigger: 'catch-up', outcome: 'success' });
      expect(t(catchUp.startedAt) - startedAt).toBeGreaterThanOrEqual(900);

      // Restarting right away adds no second catch-up: the catch-up moved the last run past the missed
      // occurrences, so the plan is the regular one, 4 s after the catch-up started.
      await core.stop();
      const restartedAt = Date.now();
      core = await startCore(dir);
      const next = (await core.getStatus()).sources[0]?.nextRunAt ?? null;
      expect(Math.abs(t(next) - (t(catchUp.startedAt) + 4000))).toBeLessThan(300);
      // A (wrong) second catch-up would start 1 s after this start, before the regular run.
      await sleep(Math.max(0, Math.min(restartedAt + 1600, t(catchUp.startedAt) + 3800) - Date.now()));
      expect((await history(core)).map((r) => r.trigger)).toEqual(['schedule', 'catch-up']);
    } finally {
      await core.stop();
    }
  });
});
