// A `command` plugin source through the real agent core and real restic (0.14 and 0.19): "Back up now", history,
// status, snapshot tags, retention scoped to the source, and a failing dump that leaves no snapshot.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { initRepo, randomSource, startCore, writeConfig } from '../scheduling/harness.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));
const execFileP = promisify(execFile);
let core: AgentCore | null = null;
afterEach(async () => {
  await core?.stop();
  core = null;
});

describe.each(resticBins().map((b) => [b.label, b.path] as const))('command source with %s', (_label, bin) => {
  it('backs up a command, keeps its own retention, and refuses a failed dump', async () => {
    const dir = tempDir('rma-plugin-');
    const repo = await initRepo(bin, dir, 'main');
    const files = randomSource(dir, 'files', 0);
    const flag = join(dir, 'fail');
    // The "dump": an LDIF of two entries, or a half-written one and exit 2 once the flag file exists.
    writeFileSync(join(dir, 'dump.sh'), `echo "dn: dc=example"\necho "dn: cn=ann"\nif [ -e ${flag} ]; then echo "slapcat: db locked" >&2; exit 2; fi\n`);
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'policies: { keep2: { schedule: "0 0 1 1 *", retention: { keep_last: 2 } } }',
      `backup: { sources: [ { path: ${files}, policy: keep2 } ] }`,
      'plugins:',
      `  command: [ { name: ldap, command: [sh, ${join(dir, 'dump.sh')}], stdin_filename: ldap.ldif, policy: keep2 } ]`,
    ]);
    core = await startCore(dir);
    const bare = (...a: string[]) => execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', ...a], { encoding: 'utf8' });
    const snaps = () => JSON.parse(bare('snapshots', '--json')) as Array<{ id: string; paths: string[]; tags: string[] }>;

    await core.runNow({ kind: 'backup', source: files });
    for (let i = 0; i < 3; i++) {
      const [rec] = await core.runNow({ kind: 'backup', source: 'command:ldap' });
      expect(rec, JSON.stringify(rec)).toMatchObject({ kind: 'backup', source: 'command:ldap', outcome: 'success' });
    }
    const ldap = snaps().filter((s) => s.tags.includes('source:ldap'));
    // keep_last 2 applied to the plugin source alone: the folder's snapshot is untouched.
    expect(ldap).toHaveLength(2);
    expect(snaps().filter((s) => s.paths.includes(files))).toHaveLength(1);
    expect(ldap[0]).toMatchObject({
      paths: ['/ldap.ldif'],
      tags: expect.arrayContaining(['agent:sched-test', 'policy:keep2', 'plugin:command', 'source:ldap']),
    });
    expect(bare('dump', ldap[1]!.id, '/ldap.ldif')).toBe('dn: dc=example\ndn: cn=ann\n');

    writeFileSync(flag, '');
    const [failed] = await core.runNow({ kind: 'backup', source: 'command:ldap' });
    expect(failed).toMatchObject({ source: 'command:ldap', outcome: 'failed', snapshotId: null });
    expect(failed?.message).toMatch(/dump command failed/);
    expect(snaps().filter((s) => s.tags.includes('source:ldap'))).toHaveLength(2);
    const status = await core.getStatus();
    expect(status.sources.find((s) => s.path === 'command:ldap')?.lastRun?.outcome).toBe('failed');
    expect(readFileSync(join(dir, 'config.yaml'), 'utf8')).toContain('plugins:'); // the file is the user's, untouched
  }, 120_000);

  it('the CLI backs up a plugin source by name and restores its output to a new file, never over one', async () => {
    const dir = tempDir('rma-plugin-');
    const repo = await initRepo(bin, dir, 'main');
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins: { command: [ { name: ldap, command: [echo, dn=x] } ] }',
    ]);
    const cli = (...a: string[]) =>
      execFileP(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), ...a], {
        env: { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data') },
      }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    expect(await cli('backup', '--source', 'ldap')).toEqual({ code: 0, stderr: expect.any(String) });
    const out = join(dir, 'ldap.out');
    expect((await cli('restore', 'ldap', '--to', out)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('dn=x\n');
    expect(await cli('restore', 'ldap')).toEqual({
      code: 2,
      stderr: expect.stringMatching(/give exactly one of --to-database NAME, --to-volume NAME, --to FILE/),
    });
    expect(await cli('restore', 'ldap', '--to', out)).toEqual({ code: 1, stderr: expect.stringMatching(/exists: a restore never overwrites a file/) });
    expect(await cli('restore', 'nope', '--to', join(dir, 'x'))).toEqual({
      code: 1,
      stderr: expect.stringMatching(/Unknown source "nope" \(configured: command:ldap\)/),
    });
  }, 60_000);

  it('a missing dump tool is a config error at start, naming the source and the fix', async () => {
    const dir = tempDir('rma-plugin-');
    const repo = await initRepo(bin, dir, 'main');
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins: { command: [ { name: ldap, command: [slapcat-not-installed] } ] }',
    ]);
    await expect(startCore(dir)).rejects.toThrow(/plugins\.command: command:ldap: "slapcat-not-installed" was not found on PATH/);
  });
});
