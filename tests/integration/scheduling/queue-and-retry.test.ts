import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import type { AgentAlert } from '../../../src/shared/model/alert.js';
import type { RunRecord } from '../../../src/shared/model/run.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { history, holdExclusiveLock, initRepo, randomSource, startCore, t, writeConfig } from './harness.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** A schedule that does not come due during a test (and is never "missed": the agent tracks it from now). */
const NEVER = '"0 0 1 1 *"';

describe.each(resticBins())('scheduling through the agent core with $label', ({ path: binary }) => {
  it('a check waits for the running backup on its repository, while a backup of another repository runs in parallel', async () => {
    const dir = tempDir('rma-sched-');
    const a = await initRepo(binary, dir, 'a');
    const b = await initRepo(binary, dir, 'b');
    const srcA = randomSource(dir, 'a', 4);
    const srcB = randomSource(dir, 'b', 4);
    writeConfig(dir, binary, [
      'repositories:',
      `  a: { url: ${a.url}, password_file: ${a.passFile}, check: { schedule: ${NEVER} } }`,
      `  b: { url: ${b.url}, password_file: ${b.passFile} }`,
      // 1 MiB/s: 4 MiB of random data take about 4 s to upload.
      `policies: { slow: { schedule: ${NEVER}, throttle: { limit_upload: 1MiB/s } } }`,
      'backup:',
      `  sources: [ { path: ${srcA}, policy: slow, repository: a }, { path: ${srcB}, policy: slow, repository: b } ]`,
    ]);
    const core = await startCore(dir);
    try {
      await core.backupNow(srcA);
      await core.backupNow(srcB);
      await waitFor('backup A to be running', async () => (await history(core, srcA)).some((r) => r.kind === 'backup' && r.endedAt === null));
      const { runIds } = await core.checkNow('a');
      expect(runIds).toHaveLength(1);
      const all = await waitFor(
        'three finished runs',
        async () => {
          const h = await history(core);
          return h.length === 3 && h.every((r) => r.endedAt !== null) && h;
        },
        40_000,
      );
      const backupA = all.find((r) => r.kind === 'backup' && r.repository === 'a')!;
      const backupB = all.find((r) => r.kind === 'backup' && r.repository === 'b')!;
      const check = all.find((r) => r.kind === 'check')!;
      expect([backupA.outcome, backupB.outcome, check.outcome]).toEqual(['success', 'success', 'success']);
      expect(check.id).toBe(runIds[0]);
      // The throttle made the backup slow enough to matter, and the check waited for it to end.
      expect(t(backupA.endedAt) - t(backupA.startedAt)).toBeGreaterThan(2000);
      expect(t(check.startedAt)).toBeGreaterThanOrEqual(t(backupA.endedAt));
      // Repository b is independent: its backup overlapped backup A.
      expect(t(backupB.startedAt)).toBeLessThan(t(backupA.endedAt));
      expect(t(backupA.startedAt)).toBeLessThan(t(backupB.endedAt));
    } finally {
      await core.stop();
    }
  });

  it("retries a backup blocked by someone else's lock, but not a wrong password", async () => {
    const dir = tempDir('rma-sched-');
    const locked = await initRepo(binary, dir, 'locked');
    randomSource(dir, 'fill', 1); // data for the external check to crawl through
    const wrong = await initRepo(binary, dir, 'wrong');
    const srcLocked = randomSource(dir, 'l', 0);
    const srcWrong = randomSource(dir, 'w', 0);
    writeConfig(dir, binary, [
      'repositories:',
      `  locked: { url: ${locked.url}, password_file: ${locked.passFile} }`,
      `  wrong: { url: ${wrong.url}, password_file: ${dir}/pass-typo }`,
      // First run 1 s after start (catch_up_delay), retries after 1 s, 2 s, 2 s.
      'policies: { quick: { schedule: every 1h, retry: { max_attempts: 4, initial_delay: 1s, max_delay: 2s } } }',
      'backup:',
      `  sources: [ { path: ${srcLocked}, policy: quick, repository: locked }, { path: ${srcWrong}, policy: quick, repository: wrong } ]`,
    ]);
    writeFileSync(join(dir, 'pass-typo'), 'correct horse battery stable\n', { mode: 0o600 });
    // Give the external holder a snapshot to read, so its throttled `check --read-data` takes minutes.
    await promisify(execFile)(binary, ['-r', locked.url, '--password-file', locked.passFile, '--no-cache', 'backup', join(dir, 'src-fill')]);
    const holder = await holdExclusiveLock(binary, locked);
    let core: AgentCore | null = null;
    try {
      core = await startCore(dir);
      const c = core;
      const finished: RunRecord[] = [];
      const alerts: AgentAlert[] = [];
      c.on('run-finished', (r) => finished.push(r));
      c.on('alert', (a) => alerts.push(a));
      await waitFor('a backup refused because of the lock', async () => (await history(c, srcLocked)).some((r) => r.outcome === 'locked'), 15_000);
      await holder.release();
      const runs = await waitFor(
        'the retry to succeed',
        async () => {
          const h = await history(c, srcLocked);
          return h.at(-1)?.outcome === 'success' && h;
        },
        20_000,
      );
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs[0]).toMatchObject({ trigger: 'schedule', outcome: 'locked' });
      expect(runs[0]!.message).toMatch(/lock/i);
      expect(runs.slice(1).map((r) => r.trigger)).toEqual(runs.slice(1).map(() => 'retry'));
      expect(runs.slice(0, -1).every((r) => r.outcome === 'locked')).toBe(true);

      // The wrong password ran once, at the same time; both retry delays (1 s, 2 s) later it has not been repeated.
      const [firstWrong] = await history(c, srcWrong);
      await sleep(Math.max(0, t(firstWrong?.endedAt ?? null) + 3200 - Date.now()));
      const wrongRuns = await history(c, srcWrong);
      expect(wrongRuns).toHaveLength(1);
      expect(wrongRuns[0]).toMatchObject({ trigger: 'schedule', outcome: 'wrong-password' });
      expect(wrongRuns[0]!.message).toMatch(/password/i);
      const logs = await c.getLogs({ limit: 1000, minLevel: 'error' });
      expect(logs.map((l) => l.message).join('\n')).toMatch(/will not be retried: the repository password is wrong/);
      const status = await c.getStatus();
      expect(status.sources.find((s) => s.path === srcWrong)?.lastRun?.outcome).toBe('wrong-password');
      // The core's events say the same as its history, once per run: consumers need not re-derive anything.
      const recorded = [...runs, ...wrongRuns].map((r) => `${r.id}:${r.outcome}`).sort();
      expect(finished.map((r) => `${r.id}:${r.outcome}`).sort()).toEqual(recorded);
      expect(alerts).toContainEqual(expect.objectContaining({ kind: 'not-retryable', repository: 'wrong', source: srcWrong }));
    } finally {
      await core?.stop();
      await holder.release().catch(() => {});
    }
  });
});
