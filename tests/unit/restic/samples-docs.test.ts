import { describe, expect, it } from 'vitest';
import { parseForget, parseSnapshots, parseStats } from '../../../src/main/core/restic/docs.js';
import { parseSingleDoc } from '../../../src/main/core/restic/single-doc.js';
import { loadSamples, sample, VERSIONS } from './sample-reader.js';

const cmdOf = (command: string) => command.replace(/^.*?restic /, '');

describe.each(VERSIONS)('single-document samples of restic %s', (version) => {
  const all = loadSamples(version).filter((s) => s.code === 0);

  it('every successful snapshots --json parses into records with full ids', () => {
    const snaps = all.filter((s) => /^(--no-lock )?snapshots --json/.test(cmdOf(s.command)) && !s.command.includes('python3'));
    expect(snaps.length).toBeGreaterThan(3);
    for (const s of snaps) {
      const { doc } = parseSingleDoc(s.stdout);
      expect(Array.isArray(doc), s.name).toBe(true);
      for (const r of parseSnapshots(doc)) {
        expect(r.id, s.name).toMatch(/^[0-9a-f]{64}$/);
        expect(r.shortId).toBe(r.id.slice(0, 8));
        expect(Array.isArray(r.tags)).toBe(true);
        expect(r.time).toMatch(/^\d{4}-\d\d-\d\dT/);
      }
    }
  });

  it('empty repo → [] and grouped output is flattened', () => {
    expect(parseSnapshots(parseSingleDoc(sample(version, '05-').stdout).doc)).toEqual([]);
    const grouped = parseSnapshots(parseSingleDoc(sample(version, '14c-').stdout).doc);
    expect(grouped.length).toBeGreaterThan(0);
  });

  it('tags: null becomes []', () => {
    const recs = parseSnapshots(parseSingleDoc(sample(version, '14-').stdout).doc);
    expect(recs.some((r) => r.tags.length === 0)).toBe(true);
  });

  it('every forget --json sample gives kept/removed counts', () => {
    const forgets = all.filter((s) => / forget /.test(s.command) && s.command.includes('--json'));
    expect(forgets.length).toBeGreaterThan(1);
    for (const s of forgets) {
      const { doc } = parseSingleDoc(s.stdout);
      const r = parseForget(doc);
      if (s.stdout.trim() === '') expect(r).toEqual({ removed: 0, kept: 0, removedIds: [] });
      else expect(r.kept, s.name).toBeGreaterThan(0);
    }
  });

  it('forget --prune: the JSON line is found before prune text (≤0.18) and alone (0.19)', () => {
    const s = sample(version, '23-');
    const { doc, extra } = parseSingleDoc(s.stdout);
    const r = parseForget(doc);
    expect(r.kept).toBe((doc as unknown[]).length); // keep-last 1 per group
    expect(r.removed).toBeGreaterThan(0);
    expect(r.removedIds.every((id) => /^[0-9a-f]{64}$/.test(id))).toBe(true);
    if (version !== '0.19.1') expect(extra.some((l) => l.includes('snapshots'))).toBe(true);
  });

  it('stats and cat config parse', () => {
    for (const p of ['16-', '16b-', '90-']) {
      const st = parseStats(parseSingleDoc(sample(version, p).stdout).doc);
      expect(st?.totalSize, p).toBeGreaterThan(0);
      expect(st?.snapshotsCount, p).toBeGreaterThan(0);
    }
    const cfg = parseSingleDoc(sample(version, '04-').stdout).doc as { id?: string };
    expect(cfg.id).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('parseSingleDoc', () => {
  it('empty stdout means no result', () => {
    expect(parseSingleDoc('')).toEqual({ doc: null, extra: [] });
    expect(parseSingleDoc('\n \n')).toEqual({ doc: null, extra: [] });
  });
  it('skips leading warning lines (0.19.0 stats progress line)', () => {
    const r = parseSingleDoc('[0:00] 100.00% 7 / 7 snapshots, …\n{"total_size":5,"snapshots_count":7}\n');
    expect(r.doc).toEqual({ total_size: 5, snapshots_count: 7 });
    expect(r.extra).toEqual(['[0:00] 100.00% 7 / 7 snapshots, …']);
  });
  it('parses pretty-printed multi-line documents (cat config)', () => {
    expect(parseSingleDoc('{\n  "version": 2,\n  "id": "x"\n}\n').doc).toEqual({ version: 2, id: 'x' });
  });
  it('text only → null with the text as extra', () => {
    expect(parseSingleDoc('created restic repository 51f3c112ef at /r\n')).toEqual({ doc: null, extra: ['created restic repository 51f3c112ef at /r'] });
  });
});
