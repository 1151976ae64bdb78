import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localRepoDir, Restic } from '../../../src/main/core/restic/restic.js';
import { parseResticVersion } from '../../../src/main/core/restic/version.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * A fake restic that appends its argv and selected env to a log and behaves per subcommand:
 * `backup` prints progress and waits (until SIGINT → exit 130), `forget` reports a lock conflict (0.14 text).
 */
const FAKE = `
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ args, pw: process.env.RESTIC_PASSWORD ?? null, t: Date.now() }) + '\\n');
const sub = args.find((a) => !a.startsWith('-') && !/^\\d/.test(a));
if (sub === 'backup') {
  console.log(JSON.stringify({ message_type: 'status', percent_done: 0.1 }));
  process.on('SIGINT', () => { console.error('\\x1b[2Ksignal interrupt received, cleaning up'); process.exit(130); });
  setTimeout(() => {}, 60000);
} else if (sub === 'forget') {
  console.error('unable to create lock in backend: repository is already locked by PID 1 on vm by nobody (UID 65534, GID 65534)');
  process.exit(1);
} else if (sub === 'unlock') {
  console.log('successfully removed locks');
}
`;

function setup(version: string, retryLockMs = 0) {
  const dir = tempDir('rma-facade-');
  const js = join(dir, 'fake.cjs');
  writeFileSync(js, FAKE);
  const bin = join(dir, 'restic');
  writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
  chmodSync(bin, 0o755);
  const log = join(dir, 'calls.jsonl');
  writeFileSync(log, '');
  const v = parseResticVersion(`restic ${version} compiled with go on linux/amd64`);
  if (!v) throw new Error('version');
  const restic = new Restic({
    binary: bin,
    version: v,
    repo: { url: '/repo', password: { kind: 'value', value: 'facade-secret-pw' }, env: { FAKE_LOG: log } },
    host: 'h',
    cacheDir: null,
    retryLockMs,
  });
  const calls = () =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { args: string[]; pw: string | null; t: number });
  return { restic, calls };
}

describe('Restic facade (fake restic)', () => {
  it('cancel: SIGINT, then `restic unlock`; the password is only in the env', async () => {
    const { restic, calls } = setup('0.14.0');
    const ac = new AbortController();
    const r = await restic.backup(
      { paths: ['/data'], exclude: [], tags: [] },
      {
        signal: ac.signal,
        // A short delay: a just-started Node fake can still die of the default SIGINT action.
        onEvent: (e) => e.type === 'progress' && setTimeout(() => ac.abort(), 150),
      },
    );
    expect(r.outcome).toBe('cancelled');
    expect(r, JSON.stringify(r)).toMatchObject({ exitCode: 130 });
    const c = calls();
    expect(c.map((x) => x.args.find((a) => ['backup', 'unlock'].includes(a)))).toEqual(['backup', 'unlock']);
    expect(c[0]?.args).toEqual(['--json', '--no-cache', 'backup', '--host', 'h', '--', '/data']);
    for (const x of c) {
      expect(x.pw).toBe('facade-secret-pw');
      expect(x.args.join(' ')).not.toContain('facade-secret-pw');
    }
  });

  it('restic < 0.16: the facade retries a lock conflict itself until retryLockMs is spent', async () => {
    const { restic, calls } = setup('0.15.2', 2500);
    const r = await restic.forget({ retention: { keepLast: 1 }, prune: false });
    expect(r.outcome).toBe('locked');
    const c = calls();
    expect(c.length).toBeGreaterThanOrEqual(2);
    expect(c.every((x) => !x.args.includes('--retry-lock'))).toBe(true);
    expect(r.durationMs).toBeGreaterThanOrEqual(2400);
  });

  it('restic ≥ 0.16: --retry-lock is passed and restic is run once', async () => {
    const { restic, calls } = setup('0.16.0', 2500);
    const r = await restic.forget({ retention: { keepLast: 1 }, prune: false });
    expect(r.outcome).toBe('locked');
    const c = calls();
    expect(c).toHaveLength(1);
    expect(c[0]?.args.slice(0, 4)).toEqual(['--json', '--no-cache', '--retry-lock', '3s']);
  });

  it('aborting during the lock wait ends as cancelled', async () => {
    const { restic } = setup('0.14.0', 30_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 600);
    const started = Date.now();
    const r = await restic.forget({ retention: { keepLast: 1 }, prune: false }, { signal: ac.signal });
    expect(r.outcome).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('localRepoDir', () => {
  it.each([
    ['/srv/repo', '/srv/repo'],
    ['local:/srv/repo', '/srv/repo'],
    ['D:\\backup\\repo', 'D:\\backup\\repo'],
    ['relative/repo', 'relative/repo'],
    ['sftp:user@host:/srv/repo', null],
    ['s3:s3.amazonaws.com/bucket', null],
    ['rest:https://host:8000/', null],
    ['rclone:remote:path', null],
  ])('%s → %s', (url, dir) => {
    expect(localRepoDir(url)).toBe(dir);
  });
});
