import { describe, expect, it } from 'vitest';
import { classifySample, replay } from './replay.js';
import { loadSamples, sample, VERSIONS } from './sample-reader.js';

const isJsonBackup = (cmd: string) => / backup /.test(cmd) && cmd.includes('--json');

describe.each(VERSIONS)('backup --json samples of restic %s', (version) => {
  const backups = loadSamples(version).filter((s) => isJsonBackup(s.command));

  it('has backup samples to check', () => {
    expect(backups.length).toBeGreaterThan(8);
  });

  it.each(backups.map((s) => [s.name, s] as const))('%s parses into sane typed events', (_name, s) => {
    const { events, texts } = replay(s);
    for (const { ev, stream } of events) {
      expect(ev.kind, `unrecognised JSON line in ${s.name}`).not.toBe('other');
      if (ev.kind === 'progress') {
        expect(stream).toBe('stdout');
        const p = ev.progress;
        expect(p.percent).toBeGreaterThanOrEqual(0);
        expect(p.percent).toBeLessThanOrEqual(100);
        if (p.etaSeconds !== null) expect(p.etaSeconds).toBeLessThan(1e10);
        expect(Array.isArray(p.currentFiles)).toBe(true);
      }
      if (ev.kind === 'file-error') {
        expect(stream).toBe('stderr');
        expect(ev.error.item).not.toBe('');
        expect(ev.error.message.length).toBeGreaterThan(5);
      }
    }
    // Every JSON line of stdout was recognised; only text lines are left as text.
    for (const t of texts) expect(t.line.startsWith('{"message_type"')).toBe(false);
    const summaries = events.filter((e) => e.ev.kind === 'summary');
    if ((s.code === 0 || s.code === 3) && !s.name.includes('sigusr1')) {
      const invocations = s.command.split('backup --json').length - 1;
      expect(summaries, `${s.name}: a finished backup prints a summary`).toHaveLength(invocations);
    }
    if (s.code === 130 || s.signal || (s.code === 1 && s.name.includes('sig'))) expect(summaries).toHaveLength(0);
  });
});

describe('backup quirks per version', () => {
  it('0.14: short snapshot id, {} and {Op,Path,Err} errors, exit 3 → partial', () => {
    const s = sample('0.14.0', '06-');
    const { events } = replay(s);
    const summary = events.find((e) => e.ev.kind === 'summary')?.ev;
    expect(summary?.kind === 'summary' && summary.summary.snapshotId).toBe('31a98b8d');
    const errors = events.flatMap((e) => (e.ev.kind === 'file-error' ? [e.ev.error] : []));
    expect(errors).toHaveLength(3);
    expect(errors[1]).toEqual({
      item: '/srv/restic/demo/src/secret.txt',
      during: 'archival',
      message: 'open /srv/restic/demo/src/secret.txt: permission denied',
    });
    expect(errors[0]?.message).toContain('/srv/restic/demo/src/secretdir');
    expect(classifySample(s).outcome).toBe('partial');
  });

  it('0.14: scan_finished sent as message_type "status" is not a progress line', () => {
    const { events } = replay(sample('0.14.0', '07-'));
    const scan = events.filter((e) => e.ev.kind === 'scan-finished');
    expect(scan).toHaveLength(1);
    expect(scan[0]?.ev).toEqual({ kind: 'scan-finished', totalFiles: 4, totalBytes: 30 });
    expect(events.filter((e) => e.ev.kind === 'verbose').length).toBe(8);
  });

  it('0.14: the 2^63 ETA while waiting on stdin becomes null', () => {
    const { events } = replay(sample('0.14.0', '40-'));
    const progress = events.flatMap((e) => (e.ev.kind === 'progress' ? [e.ev.progress] : []));
    expect(progress.length).toBe(7);
    expect(progress.every((p) => p.etaSeconds === null)).toBe(true);
    expect(progress[6]?.elapsedSeconds).toBe(6);
    expect(progress[6]?.currentFiles).toEqual(['/slow.sql']);
  });

  it.each(['0.18.0', '0.19.1'])('%s: full snapshot id, data_added_packed, message errors, exit_error', (v) => {
    const s = sample(v, '06-');
    const r = replay(s);
    const summary = r.events.find((e) => e.ev.kind === 'summary')?.ev;
    if (summary?.kind !== 'summary') throw new Error('no summary');
    expect(summary.summary.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.summary.stats.dataAddedPacked).toBeGreaterThan(0);
    expect(r.handler.exitError).toEqual({ code: 3, message: 'Warning: at least one source file could not be read' });
    const errors = r.events.flatMap((e) => (e.ev.kind === 'file-error' ? [e.ev.error] : []));
    expect(errors.some((e) => e.message === 'open /srv/restic/demo/src/secret.txt: permission denied')).toBe(true);
    expect(classifySample(s).outcome).toBe('partial');
  });

  it('0.18: skip-if-unchanged negative duration is clamped, dry-run flagged', () => {
    const second = sample('0.18.0', '13c-').runs[1];
    if (!second) throw new Error('13c has two runs');
    const skipped = replay(second).events.flatMap((e) => (e.ev.kind === 'summary' ? [e.ev.summary] : []));
    expect(skipped).toHaveLength(1);
    for (const s of skipped) expect(s.stats.totalDurationSeconds).toBeGreaterThanOrEqual(0);
    expect(skipped.some((s) => s.snapshotId === null)).toBe(true);
    const dry = replay(sample('0.18.0', '13-')).events.find((e) => e.ev.kind === 'summary')?.ev;
    expect(dry?.kind === 'summary' && dry.summary.dryRun).toBe(true);
  });

  it('percent_done is a fraction turned into 0..100', () => {
    const { events } = replay(sample('0.18.0', '06-'));
    const p = events.find((e) => e.ev.kind === 'progress')?.ev;
    expect(p?.kind === 'progress' && p.progress.percent).toBeCloseTo(63.333, 2);
  });

  it.each(['0.18.0', '0.19.1'])('%s: restore --json status and summary', (v) => {
    const { events } = replay(sample(v, '21-'));
    const rs = events.find((e) => e.ev.kind === 'restore-summary')?.ev;
    expect(rs).toEqual({ kind: 'restore-summary', filesRestored: 8, bytesRestored: 19 });
  });

  it.each(['0.18.0', '0.19.1'])('%s: check --json summary', (v) => {
    const { events } = replay(sample(v, '17b-'));
    expect(events.map((e) => e.ev)).toContainEqual({ kind: 'check-summary', numErrors: 0, brokenPacks: [] });
  });

  it('signal noise (\\x1b[2K / \\r) is stripped from text lines', () => {
    const a = replay(sample('0.14.0', '40-')).texts;
    expect(a).toContainEqual({ line: 'signal interrupt received, cleaning up', stream: 'stderr' });
    const b = replay(sample('0.19.1', '40-')).texts;
    expect(b.map((t) => t.line)).toContain('signal interrupt received, cleaning up');
  });
});
