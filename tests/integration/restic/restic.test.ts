import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RepoAccess } from '../../../src/main/core/config/types.js';
import { silentLogger } from '../../../src/main/core/log/logger.js';
import { detectResticVersion, Restic, ResticError, type ResticEvent } from '../../../src/main/core/restic/restic.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { holdLock, isRoot, stopHolder, resticAsNobody, sourceTree, writableDir } from './setup.js';
import { waitFor } from '../../helpers/wait.js';
import { useCheapKdf } from '../../helpers/fast-kdf.js';

const PASSWORD = 'integration-pw-4711';

describe.each(resticBins().map((b) => [b.label, b.path] as const))('Restic facade against %s', (_label, bin) => {
  // One repository per binary, shared by the steps below (they run in order).
  let dir: string;
  let restic: Restic;
  let repo: RepoAccess;
  let cache: string;
  let binary: string;
  let src: { root: string; secret: string };
  let big: string;
  const make = (over: Partial<RepoAccess> = {}, retryLockMs = 0) =>
    detectResticVersion(binary).then((version) => new Restic({ binary, version, repo: { ...repo, ...over }, host: 'it-host', cacheDir: cache, retryLockMs }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rma-it-restic-'));
    chmodSync(dir, 0o755);
    binary = resticAsNobody(dir, bin);
    const repoParent = writableDir(join(dir, 'repoparent'));
    cache = writableDir(join(dir, 'cache'));
    repo = { url: join(repoParent, 'repo'), password: { kind: 'value', value: PASSWORD }, env: {} };
    src = sourceTree(join(dir, 'src'));
    big = join(dir, 'big');
    mkdirSync(big);
    // Incompressible, so --limit-upload really throttles the upload (40 MiB at 4 MiB/s ≈ 10 s; restic 0.19 finishes
    // the pack upload in flight before it exits, so a much slower limit makes cancelling take minutes).
    writeFileSync(join(big, 'big.bin'), randomBytes(40 * 1024 * 1024));
    restic = await make();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs as an unprivileged user (so unreadable files are really unreadable)', () => {
    if (isRoot) expect(readFileSync(binary, 'utf8')).toContain('setpriv');
    expect(existsSync(src.secret)).toBe(true);
  });

  it('init creates the repository; a second init fails clearly', async () => {
    const r = await restic.init();
    expect(r).toMatchObject({ outcome: 'success', exitCode: 0 });
    useCheapKdf(repo.url, PASSWORD);
    expect(existsSync(join(repo.url, 'config'))).toBe(true);
    const again = await restic.init();
    expect(again.outcome).toBe('failed');
    expect(again.message).toMatch(/already exists/);
  });

  it('probe: exists / wrong-password / missing', async () => {
    expect((await restic.probe()).state).toBe('exists');
    const wrong = await make({ password: { kind: 'value', value: 'not-the-password' } });
    expect(await wrong.probe()).toMatchObject({ state: 'wrong-password' });
    const missing = await make({ url: join(dir, 'nope') });
    expect((await missing.probe()).state).toBe('missing');
  });

  it('a backup gives the full snapshot id with one restic run (0.14 prints a short one; it is read from snapshots/)', async () => {
    const runs: string[] = [];
    const logger = { ...silentLogger, info: (m: string) => void runs.push(m), forRun: () => logger };
    const own = { ...repo, url: join(dir, 'repoparent', 'repo-id') };
    const restic = new Restic({ binary, version: await detectResticVersion(binary), repo: own, host: 'id-host', cacheDir: cache, retryLockMs: 0, logger });
    expect((await restic.init()).outcome).toBe('success');
    runs.length = 0;
    const r = await restic.backup({ paths: [src.root], exclude: [src.secret], tags: ['id'] });
    expect(r.outcome, r.message).toBe('success');
    expect(r.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(own.url, 'snapshots', r.snapshotId ?? ''))).toBe(true);
    // Every restic command is logged as it starts (`restic --json <command> …`).
    expect(runs.filter((m) => m.startsWith('restic --json '))).toEqual([expect.stringMatching(/^restic --json backup /)]);
  });

  it('backup with an unreadable file → partial, with a full snapshot id and the file error', async () => {
    const events: ResticEvent[] = [];
    const r = await restic.backup({ paths: [src.root], exclude: [], tags: ['it'] }, { onEvent: (e) => events.push(e) });
    expect(r.outcome).toBe('partial');
    expect(r.exitCode).toBe(3);
    expect(r.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.fileErrors.map((e) => e.item)).toContain(src.secret);
    expect(r.fileErrors.find((e) => e.item === src.secret)?.message).toMatch(/permission denied/);
    expect(r.stats?.filesNew).toBe(2);
    expect(events.some((e) => e.type === 'file-error')).toBe(true);
    const snaps = await restic.snapshots({ host: 'it-host' });
    expect(snaps.map((s) => s.id)).toContain(r.snapshotId);
    expect(snaps[0]?.tags).toEqual(['it']);
  });

  it('wrong password → wrong-password; missing repo → no-repo', async () => {
    const wrong = await make({ password: { kind: 'value', value: 'not-the-password' } });
    const w = await wrong.backup({ paths: [src.root], exclude: [], tags: [] });
    expect(w.outcome).toBe('wrong-password');
    expect(w.message).toMatch(/Wrong repository password \(restic exit (1|12)\)/);
    expect(w.snapshotId).toBeNull();
    const missing = await make({ url: join(dir, 'nope') });
    expect((await missing.backup({ paths: [src.root], exclude: [], tags: [] })).outcome).toBe('no-repo');
    await expect(missing.snapshots()).rejects.toBeInstanceOf(ResticError);
  });

  it('lock conflict → locked after the retry window', async () => {
    const holder = holdLock(binary, repo, cache);
    try {
      await waitFor('the holder lock', async () => (await restic.listLocks()).length > 0, 15_000);
      const waiting = await make({}, 2000);
      const r = await waiting.forget({ retention: { keepLast: 1 }, prune: false });
      expect(r.outcome).toBe('locked');
      expect(r.durationMs).toBeGreaterThanOrEqual(1900);
      expect(r.message).toMatch(/locked/);
    } finally {
      await stopHolder(holder);
    }
    // A holder that had to be SIGKILLed leaves its lock; `unlock` removes it because that PID is gone.
    await restic.unlock();
    expect(await restic.listLocks()).toEqual([]);
  });

  it('cancel mid-backup → cancelled, no lock left, no snapshot written', async () => {
    const before = (await restic.snapshots()).length;
    const ac = new AbortController();
    let progress = 0;
    const r = await restic.backup(
      { paths: [big], exclude: [], tags: ['big'], limitUploadKiBs: 4096 },
      {
        signal: ac.signal,
        cancelGraceMs: 20_000,
        onEvent: (e) => {
          if (e.type === 'progress' && ++progress === 1) setTimeout(() => ac.abort(), 300);
        },
      },
    );
    expect(progress).toBeGreaterThan(0);
    expect(r.outcome).toBe('cancelled');
    expect(r.snapshotId).toBeNull();
    expect(await restic.listLocks()).toEqual([]);
    expect((await restic.snapshots()).length).toBe(before);
  });

  it('forget with keep-last removes older snapshots; prune; check; check --read-data-subset', async () => {
    for (let i = 0; i < 2; i++) {
      writeFileSync(join(src.root, 'a.txt'), `change ${i}\n`);
      expect((await restic.backup({ paths: [src.root], exclude: [], tags: ['it'] })).outcome).toBe('partial');
    }
    expect((await restic.snapshots({ paths: [src.root] })).length).toBe(3);
    const f = await restic.forget({ retention: { keepLast: 1 }, prune: false, paths: [src.root] });
    expect(f).toMatchObject({ outcome: 'success', removed: 2, kept: 1 });
    expect((await restic.snapshots({ paths: [src.root] })).length).toBe(1);

    expect((await restic.prune()).outcome).toBe('success');
    expect((await restic.check({ readDataSubset: null })).outcome).toBe('success');
    const sub = await restic.check({ readDataSubset: '50%' });
    expect(sub.outcome).toBe('success');
  });

  it('forget --prune in one go, stats, restore, unlock', async () => {
    await restic.backup({ paths: [src.root], exclude: [], tags: ['it'] });
    const f = await restic.forget({ retention: { keepLast: 1 }, prune: true, paths: [src.root] });
    expect(f).toMatchObject({ outcome: 'success', removed: 1, kept: 1 });
    const st = await restic.stats();
    expect(st?.totalSize).toBeGreaterThan(0);
    expect(st?.snapshotsCount).toBe(1);
    const [snap] = await restic.snapshots({ paths: [src.root] });
    if (!snap) throw new Error('no snapshot');
    const target = writableDir(join(dir, 'restore'));
    const r = await restic.restore({ snapshotId: snap.id, include: null, target });
    expect(r.outcome).toBe('success');
    expect(readFileSync(join(target, src.root, 'sub', 'b.txt'), 'utf8')).toBe('bravo ünïcödé\n');
    expect((await restic.unlock()).outcome).toBe('success');
  });
});
