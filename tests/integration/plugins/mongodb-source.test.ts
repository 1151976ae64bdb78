// The mongodb plugin through the real agent core and real restic 0.14 and 0.19, against STAND-IN mongodump and
// mongorestore: no MongoDB server or database tools are installable on these machines (see docs/plugins.md).
// The stand-ins hold the tools' real argument contract (`--config=FILE` with `uri:` and `password:`, `--archive`
// on stdout/stdin, `--db`, `--nsFrom/--nsTo`), refuse a wrong password like the real ones (exit 1), and record
// what they were given, so the test sees the argv, the config file's mode and the bytes that went through.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentCore } from '../../../src/main/core/agent/contract.js';
import { sampleArgv } from '../../helpers/argv-sampler.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { initRepo, startCore, writeConfig } from '../scheduling/harness.js';

const PASSWORD = 'mongo-Secret"9;$x';

let core: AgentCore | null = null;
afterEach(async () => {
  await core?.stop();
  core = null;
});

/** mongodump/mongorestore stand-ins in `<dir>/tools`; `<dir>/archive-<db>.bin` is what a database dumps as. */
function standIns(dir: string): string {
  const tools = join(dir, 'tools');
  execFileSync('mkdir', ['-p', tools]);
  const common = `
log=${dir}/calls.log; printf '%s %s\\n' "$(basename "$0")" "$*" >> "$log"
cfg=; archive=; db=; to=
for a; do case "$a" in --config=*) cfg="\${a#--config=}";; --archive) archive=1;; --db=*) db="\${a#--db=}";; --nsTo=*) to="\${a#--nsTo=}";; --*) ;; *) echo "unexpected argument $a" >&2; exit 2;; esac; done
[ -n "$cfg" ] && [ -n "$archive" ] || { echo 'Failed: expected --config=FILE and --archive' >&2; exit 2; }
stat -c %a "$cfg" >> ${dir}/modes.log
grep -q '^uri: "mongodb://backup@db1:27017/?authSource=admin"$' "$cfg" || { echo 'Failed: no uri in the config file' >&2; exit 2; }
grep -qF 'password: ${JSON.stringify(PASSWORD)}' "$cfg" || { echo 'Failed: (AuthenticationFailed) Authentication failed.' >&2; exit 1; }
`;
  writeFileSync(
    join(tools, 'mongodump'),
    `#!/bin/sh${common}
f=${dir}/archive-\${db:-server}.bin
if [ "$db" = broken ]; then head -c 100000 "$f"; echo 'Failed: error writing data for collection broken.x: connection reset' >&2; exit 1; fi
exec cat "$f"
`,
  );
  writeFileSync(join(tools, 'mongorestore'), `#!/bin/sh${common}\nexec cat > "${dir}/restored-\${to%.\\*}.bin"\n`);
  for (const t of ['mongodump', 'mongorestore']) chmodSync(join(tools, t), 0o755);
  for (const db of ['events', 'audit', 'broken', 'server']) writeFileSync(join(dir, `archive-${db}.bin`), randomBytes(300_000));
  return tools;
}

describe.each(resticBins().map((b) => [b.label, b.path] as const))('mongodb source (stand-in tools) with %s', (_label, bin) => {
  it('streams one archive per database, keeps the password out of argv, and restores one under a new name', async () => {
    const dir = tempDir('rma-mongo-');
    const tools = standIns(dir);
    const repo = await initRepo(bin, dir, 'main');
    const pwFile = join(dir, 'mongo.pass');
    writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
    const wrong = join(dir, 'wrong.pass');
    writeFileSync(wrong, 'nope\n', { mode: 0o600 });
    const uri = 'mongodb://backup@db1:27017/?authSource=admin';
    writeConfig(dir, bin, [
      `repository: { url: ${repo.url}, password_file: ${repo.passFile} }`,
      'plugins:',
      '  mongodb:',
      `    - { name: events, uri: "${uri}", password_file: ${pwFile}, databases: [events, audit], bin_dir: ${tools} }`,
      `    - { name: whole, uri: "${uri}", password_file: ${pwFile}, bin_dir: ${tools} }`,
      `    - { name: broken, uri: "${uri}", password_file: ${pwFile}, databases: [broken], bin_dir: ${tools} }`,
      `    - { name: denied, uri: "${uri}", password_file: ${wrong}, databases: [events], bin_dir: ${tools} }`,
    ]);
    core = await startCore(dir);
    const snaps = () =>
      JSON.parse(execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'snapshots', '--json'], { encoding: 'utf8' })) as Array<{
        id: string;
        paths: string[];
        tags: string[];
      }>;
    const dumpOf = (id: string, path: string) =>
      execFileSync(bin, ['-r', repo.url, '--password-file', repo.passFile, '--no-cache', 'dump', id, path], { maxBuffer: 16 << 20 });

    const argv = sampleArgv([PASSWORD]);
    const [rec] = await core.runNow({ kind: 'backup', source: 'events' });
    expect(argv.stop().leaks).toEqual([]);
    expect(rec, JSON.stringify(rec)).toMatchObject({ source: 'mongodb:events', outcome: 'success' });
    const events = snaps().find((s) => s.tags.includes('db:events'));
    expect(events?.paths).toEqual(['/mongodb/events.archive']);
    expect(events?.tags).toEqual(expect.arrayContaining(['plugin:mongodb', 'source:events']));
    expect(dumpOf(events?.id ?? '', '/mongodb/events.archive').equals(readFileSync(join(dir, 'archive-events.bin')))).toBe(true);
    expect(readFileSync(join(dir, 'calls.log'), 'utf8')).toMatch(/^mongodump --config=\S+\/mongo\.yaml --archive --db=events$/m);

    const [whole] = await core.runNow({ kind: 'backup', source: 'whole' });
    expect(whole?.outcome).toBe('success');
    expect(snaps().find((s) => s.tags.includes('source:whole'))).toMatchObject({ paths: ['/mongodb/server.archive'], tags: expect.arrayContaining(['db:*']) });

    // A dump that fails midway, and a wrong password: failed runs, no snapshot.
    const [broken] = await core.runNow({ kind: 'backup', source: 'broken' });
    const [denied] = await core.runNow({ kind: 'backup', source: 'denied' });
    expect(broken?.outcome).toBe('failed');
    expect(denied).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/Authentication failed/) });
    expect(snaps().filter((s) => s.tags.includes('source:broken') || s.tags.includes('source:denied'))).toEqual([]);

    const [restored] = await core.runNow({
      kind: 'restore',
      source: 'events',
      snapshotId: null,
      item: 'events',
      target: { kind: 'database', name: 'events_copy' },
    });
    expect(restored, JSON.stringify(restored)).toMatchObject({ outcome: 'success' });
    expect(readFileSync(join(dir, 'restored-events_copy.bin')).equals(readFileSync(join(dir, 'archive-events.bin')))).toBe(true);
    expect(readFileSync(join(dir, 'calls.log'), 'utf8')).toMatch(/^mongorestore --config=\S+ --archive --nsFrom=events\.\* --nsTo=events_copy\.\*$/m);
    const [serverRestore] = await core.runNow({ kind: 'restore', source: 'whole', snapshotId: null, item: null, target: { kind: 'database', name: 'x' } });
    expect(serverRestore?.message).toMatch(/holds the whole server: restore it with --to FILE/);

    // The config file was private, and the run's directory is gone.
    expect(new Set(readFileSync(join(dir, 'modes.log'), 'utf8').trim().split('\n'))).toEqual(new Set(['600']));
    expect(readdirSync(join(dir, 'data', 'plugin-runs'))).toEqual([]);
    const history = JSON.stringify(await core.getHistory({ limit: 50 }));
    expect(history).not.toContain(PASSWORD);
  }, 120_000);
});
