import { describe, expect, it } from 'vitest';
import { backupArgs, checkArgs, filterArgs, forgetArgs, globalArgs, restoreArgs, retentionArgs } from '../../../src/main/core/restic/args.js';
import { buildEnv } from '../../../src/main/core/restic/env.js';
import { redact } from '../../../src/main/core/log/redact.js';
import type { RepoAccess } from '../../../src/main/core/config/types.js';
import { parseResticVersion, type ResticVersion } from '../../../src/main/core/restic/version.js';

const v = (s: string): ResticVersion => {
  const r = parseResticVersion(`restic ${s} compiled with go1.22 on linux/amd64`);
  if (!r) throw new Error('bad version');
  return r;
};
const V14 = v('0.14.0');
const V15 = v('0.15.2');
const V16 = v('0.16.0');
const V19 = v('0.19.1');

describe('globalArgs', () => {
  it('gates --retry-lock on ≥0.16 and formats it as a Go duration', () => {
    expect(globalArgs(V14, { useCache: true, retryLockMs: 30_000 })).toEqual(['--json']);
    expect(globalArgs(V15, { useCache: true, retryLockMs: 30_000 })).toEqual(['--json']);
    expect(globalArgs(V16, { useCache: true, retryLockMs: 30_000 })).toEqual(['--json', '--retry-lock', '30s']);
    expect(globalArgs(V19, { useCache: true, retryLockMs: 1500 })).toEqual(['--json', '--retry-lock', '2s']);
    expect(globalArgs(V19, { useCache: true, retryLockMs: 0 })).toEqual(['--json']);
  });
  it('no cache dir → --no-cache; limits in KiB/s; --no-lock', () => {
    expect(globalArgs(V19, { useCache: false, json: false, noLock: true, limitUploadKiBs: 100.7, limitDownloadKiBs: 0 })).toEqual([
      '--no-cache',
      '--no-lock',
      '--limit-upload',
      '100',
    ]);
  });
});

describe('backupArgs', () => {
  it('long flags, explicit host, tags, excludes, -- before paths', () => {
    expect(backupArgs(V19, { paths: ['/data', '-weird'], exclude: ['*.tmp'], tags: ['a', 'b'], host: 'h1', readConcurrency: 4, dryRun: true })).toEqual([
      'backup',
      '--host',
      'h1',
      '--tag',
      'a',
      '--tag',
      'b',
      '--exclude',
      '*.tmp',
      '--read-concurrency',
      '4',
      '--dry-run',
      '--',
      '/data',
      '-weird',
    ]);
  });
  it('--read-concurrency only on ≥0.15', () => {
    expect(backupArgs(V14, { paths: ['/d'], exclude: [], tags: [], host: 'h', readConcurrency: 4 })).not.toContain('--read-concurrency');
    expect(backupArgs(V15, { paths: ['/d'], exclude: [], tags: [], host: 'h', readConcurrency: 4 })).toContain('--read-concurrency');
  });
  it('refuses an empty path list', () => {
    expect(() => backupArgs(V19, { paths: [], exclude: [], tags: [], host: 'h' })).toThrow(/paths/);
  });
  it('uses no short flags anywhere', () => {
    const all = [
      ...backupArgs(V19, { paths: ['/d'], exclude: ['x'], tags: ['t'], host: 'h', dryRun: true }),
      ...forgetArgs({
        retention: { keepLast: 1, keepHourly: 2, keepDaily: 3, keepWeekly: 4, keepMonthly: 5, keepYearly: 6, keepWithin: '1y2m' },
        prune: true,
        host: 'h',
        tags: ['t'],
        paths: ['/d'],
      }),
      ...globalArgs(V19, { useCache: false, retryLockMs: 1000 }),
    ];
    expect(all.filter((a) => /^-[a-zA-Z]/.test(a))).toEqual([]);
  });
});

describe('forget / retention', () => {
  it('maps every keep rule and the filters', () => {
    expect(forgetArgs({ retention: { keepLast: 3, keepDaily: 7, keepWithin: '30d' }, prune: true, host: 'h', tags: ['a', 'b'], paths: ['/p'] })).toEqual([
      'forget',
      '--keep-last',
      '3',
      '--keep-daily',
      '7',
      '--keep-within',
      '30d',
      '--host',
      'h',
      '--tag',
      'a,b',
      '--path',
      '/p',
      '--prune',
    ]);
  });
  it('refuses a policy that keeps nothing explicit and bad values', () => {
    expect(() => retentionArgs({})).toThrow(/no keep rule/);
    expect(() => retentionArgs({ keepLast: -1 })).toThrow(/keep-last/);
    expect(() => retentionArgs({ keepWithin: '30 days' })).toThrow(/keepWithin/);
  });
  it('filterArgs is empty without filters', () => {
    expect(filterArgs({})).toEqual([]);
  });
});

describe('check / restore', () => {
  it('read-data-subset is validated', () => {
    expect(checkArgs({ readDataSubset: null })).toEqual(['check']);
    expect(checkArgs({ readDataSubset: '5%' })).toEqual(['check', '--read-data-subset=5%']);
    expect(checkArgs({ readDataSubset: '1/10' })).toEqual(['check', '--read-data-subset=1/10']);
    expect(() => checkArgs({ readDataSubset: '--read-data' })).toThrow(/readDataSubset/);
  });
  it('restore validates the snapshot id', () => {
    expect(restoreArgs({ snapshotId: 'abcdef12', include: '/etc', target: '/t' })).toEqual(['restore', 'abcdef12', '--target', '/t', '--include', '/etc']);
    expect(() => restoreArgs({ snapshotId: '--evil', include: null, target: '/t' })).toThrow(/snapshotId/);
  });
});

describe('buildEnv', () => {
  const repo = (password: RepoAccess['password'], env: Record<string, string> = {}): RepoAccess => ({ url: '/srv/repo', password, env });
  const agentEnv = {
    PATH: '/usr/bin',
    HOME: '/home/a',
    TMPDIR: '/tmp',
    RESTIC_PASSWORD: 'inherited!',
    RESTIC_REPOSITORY: '/inherited',
    RESTIC_PASSWORD_COMMAND: 'cat /x',
    RESTIC_HOST: 'other',
    AWS_SECRET_ACCESS_KEY: 'agent-secret',
    SOME_VAR: 'x',
  };

  it('starts from scratch: nothing RESTIC_* or unrelated is inherited', () => {
    const env = buildEnv({ repo: repo({ kind: 'file', path: '/etc/pw' }), cacheDir: '/c', base: agentEnv });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/a',
      TMPDIR: '/tmp',
      LANG: 'C.UTF-8',
      RESTIC_REPOSITORY: '/srv/repo',
      RESTIC_PASSWORD_FILE: '/etc/pw',
      RESTIC_CACHE_DIR: '/c',
      RESTIC_PROGRESS_FPS: '1',
    });
  });

  it('sets exactly one password variable', () => {
    const kinds: RepoAccess['password'][] = [
      { kind: 'value', value: 'pw-value-1234' },
      { kind: 'file', path: '/pw' },
      { kind: 'command', command: 'pass show x' },
    ];
    for (const k of kinds) {
      const env = buildEnv({ repo: repo(k), cacheDir: null, base: agentEnv });
      const pw = Object.keys(env).filter((n) => n.startsWith('RESTIC_PASSWORD'));
      expect(pw).toHaveLength(1);
      expect(env.RESTIC_CACHE_DIR).toBeUndefined();
    }
  });

  it('registers a password value for redaction', () => {
    buildEnv({ repo: repo({ kind: 'value', value: 'Tr0ub4dor&3-unique' }), cacheDir: null, base: {} });
    expect(redact('oops Tr0ub4dor&3-unique leaked')).toBe('oops *** leaked');
  });

  it('passes backend variables but not agent-managed RESTIC_* ones', () => {
    const env = buildEnv({
      repo: repo({ kind: 'file', path: '/pw' }, { AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'backend-secret-xyz' }),
      cacheDir: null,
      base: {},
    });
    expect(env.AWS_SECRET_ACCESS_KEY).toBe('backend-secret-xyz');
    expect(redact('backend-secret-xyz')).toBe('***');
    expect(() => buildEnv({ repo: repo({ kind: 'file', path: '/pw' }, { RESTIC_PASSWORD: 'x' }), cacheDir: null, base: {} })).toThrow(/RESTIC_PASSWORD/);
  });
});
