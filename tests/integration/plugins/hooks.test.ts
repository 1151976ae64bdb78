// Hooks around real backups (real restic, real /bin/sh): the order global/source nest in, what they see in their
// environment (the run's outcome and snapshot, never the repository's secrets), a failing `before` that skips the
// backup, a failing `after` that fails a run whose snapshot was made, and `on_failure`.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { initRepo, startCore, writeConfig } from '../scheduling/harness.js';

let core: AgentCore | null = null;
afterEach(async () => {
  await core?.stop();
  core = null;
});

describe('hooks', () => {
  const bin = resticBins().at(-1)?.path ?? 'restic';

  it('run in nesting order around path and plugin sources, see the outcome, and fail the run when they fail', async () => {
    const dir = tempDir('rma-hooks-');
    const repo = await initRepo(bin, dir, 'main');
    const src = join(dir, 'src');
    execFileSync('mkdir', ['-p', src]);
    writeFileSync(join(src, 'a.txt'), 'a\n');
    const log = join(dir, 'hooks.log');
    const say = (what: string) => `'echo ${what} $RESTIC_AGENT_SOURCE $RESTIC_AGENT_OUTCOME $RESTIC_AGENT_SNAPSHOT >> ${log}'`;
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      `hooks: { before: ${say('global-before')}, after: ${say('global-after')}, on_failure: ${say('global-failure')} }`,
      'backup:',
      '  sources:',
      `    - { path: ${src}, hooks: { before: [sh, -c, "env > ${dir}/env.txt; echo source-before >> ${log}"], after: ${say('source-after')} } }`,
      `    - { path: ${join(dir, 'frozen')}, hooks: { before: "echo cannot freeze >&2; exit 3", after: ${say('never')} } }`,
      `    - { path: ${join(dir, 'thaw')}, hooks: { after: "exit 4", on_failure: ${say('thaw-failure')} } }`,
      `plugins: { command: [ { name: ldap, command: [echo, ldif], hooks: { before: ${say('ldap-before')} } } ] }`,
    ]);
    execFileSync('mkdir', ['-p', join(dir, 'frozen'), join(dir, 'thaw')]);
    core = await startCore(dir);
    const lines = () => readFileSync(log, 'utf8').trim().split('\n');
    const snapshotsOf = (path: string) =>
      (
        JSON.parse(execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' })) as Array<{
          paths: string[];
        }>
      ).filter((s) => s.paths.includes(path));

    const [ok] = await core.runNow({ kind: 'backup', source: src });
    expect(ok, JSON.stringify(ok)).toMatchObject({ outcome: 'success' });
    const id = ok?.snapshotId ?? '';
    expect(lines()).toEqual([`global-before ${src}`, 'source-before', `source-after ${src} success ${id}`, `global-after ${src} success ${id}`]);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toMatch(/^RESTIC_AGENT_SOURCE=/m);
    expect(env).not.toMatch(/^RESTIC_(PASSWORD|REPOSITORY)/m);

    writeFileSync(log, '');
    const [frozen] = await core.runNow({ kind: 'backup', source: join(dir, 'frozen') });
    expect(frozen).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/^before hook failed: .*cannot freeze.*\(the backup did not run\)$/) });
    expect(snapshotsOf(join(dir, 'frozen'))).toEqual([]);
    // The global `before` had run, so the global `after` runs; the source's `after` does not, its `before` failed.
    expect(lines()).toEqual([
      `global-before ${join(dir, 'frozen')}`,
      `global-after ${join(dir, 'frozen')} failed`,
      `global-failure ${join(dir, 'frozen')} failed`,
    ]);

    writeFileSync(log, '');
    const [thaw] = await core.runNow({ kind: 'backup', source: join(dir, 'thaw') });
    expect(thaw).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/after hook failed/) });
    expect(snapshotsOf(join(dir, 'thaw'))).toHaveLength(1);
    expect(lines()[0]).toBe(`global-before ${join(dir, 'thaw')}`);
    expect(lines()).toContain(`thaw-failure ${join(dir, 'thaw')} failed ${thaw?.snapshotId ?? ''}`);

    writeFileSync(log, '');
    const [ldap] = await core.runNow({ kind: 'backup', source: 'ldap' });
    expect(ldap?.outcome).toBe('success');
    expect(lines()).toEqual(['global-before command:ldap', 'ldap-before command:ldap', expect.stringMatching(/^global-after command:ldap success \w+$/)]);
  }, 120_000);
});
