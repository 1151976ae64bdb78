import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FileError } from '../../../src/shared/model/run.js';
import { AgentStateStore } from '../../../src/main/core/state/agent-state.js';
import { openStateDb } from '../../../src/main/core/state/db.js';
import { stateMigrations } from '../../../src/main/core/state/migrations.js';
import { INTERRUPTED_MESSAGE, MAX_STORED_FILE_ERRORS, RunHistory } from '../../../src/main/core/state/run-history.js';
import { tempDir } from '../../helpers/tmp.js';

const stats = {
  filesNew: 1,
  filesChanged: 2,
  filesUnmodified: 3,
  dirsNew: 0,
  dirsChanged: 1,
  dirsUnmodified: 4,
  dataAdded: 1234,
  dataAddedPacked: 800,
  totalFilesProcessed: 6,
  totalBytesProcessed: 99999,
  totalDurationSeconds: 1.5,
};

function history(start = Date.parse('2024-05-01T10:00:00Z')) {
  let t = start;
  const db = openStateDb(':memory:', stateMigrations);
  const h = new RunHistory(db, { now: () => (t += 1000) });
  return { db, h };
}

const base = { kind: 'backup', trigger: 'schedule', repository: 'nas', source: '/home/me', policy: 'daily', taskId: null } as const;

describe('RunHistory', () => {
  it('round-trips a run from start to finish', () => {
    const { h } = history();
    const started = h.start(base);
    expect(started.endedAt).toBeNull();
    expect(started.outcome).toBeNull();
    expect(started.id).toMatch(/^[0-9a-f-]{36}$/);
    const errors: FileError[] = [{ item: '/home/me/locked', during: 'read', message: 'permission denied' }];
    const done = h.finish(started.id, {
      outcome: 'partial',
      message: 'snapshot 1a2b3c4d saved, 1 file unreadable',
      snapshotId: '1a2b3c4d',
      stats,
      fileErrors: errors,
      exitCode: 3,
    });
    expect(done).toMatchObject({ outcome: 'partial', snapshotId: '1a2b3c4d', stats, fileErrors: errors, exitCode: 3, source: '/home/me', policy: 'daily' });
    expect(Date.parse(done.endedAt ?? '')).toBeGreaterThan(Date.parse(done.startedAt));
    expect(h.get(started.id)).toEqual(done);
    expect(() => h.finish(started.id, { outcome: 'success', message: null })).toThrow(/already finished/);
    expect(() => h.finish('nope', { outcome: 'success', message: null })).toThrow(/unknown/);
  });

  it('lists newest first with filters; lastFor / lastSuccessFor', () => {
    const { h } = history();
    const a = h.start({ ...base, id: 'a' });
    h.finish(a.id, { outcome: 'success', message: 'ok' });
    const b = h.start({ ...base, id: 'b' });
    h.finish(b.id, { outcome: 'locked', message: 'repository is already locked' });
    const c = h.start({ ...base, id: 'c', kind: 'check', source: null, policy: null });
    h.finish(c.id, { outcome: 'success', message: 'no errors' });
    h.start({ ...base, id: 'd', source: '/etc' });
    expect(h.list({ limit: 10 }).map((r) => r.id)).toEqual(['d', 'c', 'b', 'a']);
    expect(h.list({ limit: 2 }).map((r) => r.id)).toEqual(['d', 'c']);
    expect(h.list({ limit: 10, source: '/home/me' }).map((r) => r.id)).toEqual(['b', 'a']);
    expect(h.list({ limit: 10, kind: 'check' }).map((r) => r.id)).toEqual(['c']);
    expect(h.lastFor('/home/me')?.id).toBe('b');
    expect(h.lastSuccessFor('/home/me')?.id).toBe('a');
    expect(h.lastSuccessFor('/etc')).toBeNull();
  });

  it('caps stored file errors and says how many were dropped', () => {
    const { h } = history();
    const r = h.start(base);
    const many = Array.from({ length: 5000 }, (_, i) => ({ item: `/f${i}`, during: 'read', message: 'denied' }));
    const done = h.finish(r.id, { outcome: 'partial', message: 'x', fileErrors: many });
    expect(done.fileErrors).toHaveLength(MAX_STORED_FILE_ERRORS);
    expect(done.fileErrors.at(-1)?.message).toBe(`${5000 - (MAX_STORED_FILE_ERRORS - 1)} more file errors not stored`);
  });

  it('markInterrupted closes runs a crash left open, across a reopen of the file', () => {
    const file = join(tempDir(), 'state.db');
    const db1 = openStateDb(file, stateMigrations);
    const h1 = new RunHistory(db1);
    const open = h1.start(base);
    const closed = h1.start({ ...base, source: '/etc' });
    h1.finish(closed.id, { outcome: 'success', message: 'ok' });
    db1.close(); // the "crash"
    const db2 = openStateDb(file, stateMigrations);
    const h2 = new RunHistory(db2);
    const marked = h2.markInterrupted();
    expect(marked.map((r) => r.id)).toEqual([open.id]);
    expect(h2.get(open.id)).toMatchObject({ outcome: 'killed', message: INTERRUPTED_MESSAGE });
    expect(h2.get(closed.id)?.outcome).toBe('success');
    expect(h2.markInterrupted()).toEqual([]);
    db2.close();
  });

  it('trim keeps the newest finished runs and never deletes open ones', () => {
    const { h } = history();
    for (let i = 0; i < 5; i++) h.finish(h.start({ ...base, id: `r${i}` }).id, { outcome: 'success', message: null });
    h.start({ ...base, id: 'open' });
    expect(h.trim(2)).toBe(4);
    expect(h.list({ limit: 10 }).map((r) => r.id)).toEqual(['open', 'r4']);
  });

  it('a damaged JSON column reads as empty instead of throwing', () => {
    const { db, h } = history();
    const r = h.start(base);
    h.finish(r.id, { outcome: 'success', message: null, stats });
    db.prepare(`UPDATE runs SET stats_json = '{bad', file_errors_json = '[1]' WHERE id = ?`).run(r.id);
    expect(h.get(r.id)).toMatchObject({ stats: null, fileErrors: [] });
  });
});

describe('AgentStateStore', () => {
  it('stores JSON values, validates them on read, updates atomically', () => {
    const db = openStateDb(':memory:', stateMigrations);
    const s = new AgentStateStore(db);
    const pause = z.object({ until: z.string() });
    expect(s.get('pause', pause)).toBeNull();
    s.set('pause', { until: '2024-01-01T00:00:00.000Z' });
    expect(s.get('pause', pause)).toEqual({ until: '2024-01-01T00:00:00.000Z' });
    s.set('pause', { until: 5 });
    expect(s.get('pause', pause)).toBeNull(); // wrong shape reads as "no state"
    s.set('schedule:a', 1);
    s.set('schedule:b', 2);
    expect(s.keys('schedule:')).toEqual(['schedule:a', 'schedule:b']);
    expect(s.update('schedule:a', z.number(), (n) => (n ?? 0) + 10)).toBe(11);
    s.delete('schedule:a');
    expect(s.keys('schedule:')).toEqual(['schedule:b']);
  });
});
