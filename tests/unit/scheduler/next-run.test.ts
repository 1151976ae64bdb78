import { describe, expect, it } from 'vitest';
import { jitterOffsetMs, nextOccurrence, previousOccurrence, validateSchedule } from '../../../src/main/core/scheduler/next-run.js';
import { classifyOutcome, looksLikeTransport, retryDelayMs } from '../../../src/main/core/scheduler/retry.js';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

describe('next-run', () => {
  it('cron honours the time zone, including DST', () => {
    const berlin = { kind: 'cron', expression: '0 2 * * *', timezone: 'Europe/Berlin' } as const;
    expect(iso(nextOccurrence(berlin, t('2024-01-10T12:00:00Z'), 0))).toBe('2024-01-11T01:00:00.000Z');
    expect(iso(nextOccurrence(berlin, t('2024-07-10T12:00:00Z'), 0))).toBe('2024-07-11T00:00:00.000Z');
  });

  it('previous occurrence includes an exact match; jitter shifts both directions consistently', () => {
    const hourly = { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' } as const;
    expect(iso(previousOccurrence(hourly, t('2024-01-01T05:00:00Z'), 0))).toBe('2024-01-01T05:00:00.000Z');
    expect(iso(previousOccurrence(hourly, t('2024-01-01T04:59:59Z'), 0))).toBe('2024-01-01T04:00:00.000Z');
    const off = 7 * 60_000;
    expect(iso(nextOccurrence(hourly, t('2024-01-01T05:03:00Z'), off))).toBe('2024-01-01T05:07:00.000Z');
    expect(iso(nextOccurrence(hourly, t('2024-01-01T05:07:00Z'), off))).toBe('2024-01-01T06:07:00.000Z');
    expect(iso(previousOccurrence(hourly, t('2024-01-01T05:03:00Z'), off))).toBe('2024-01-01T04:07:00.000Z');
  });

  it('`every` is anchored to the last run and never returns the past', () => {
    const six = { kind: 'every', intervalMs: 6 * 3_600_000 } as const;
    const anchor = t('2024-01-01T00:10:00Z');
    expect(iso(nextOccurrence(six, t('2024-01-01T01:00:00Z'), 0, anchor))).toBe('2024-01-01T06:10:00.000Z');
    expect(iso(nextOccurrence(six, t('2024-01-01T13:00:00Z'), 0, anchor))).toBe('2024-01-01T18:10:00.000Z');
    expect(iso(previousOccurrence(six, t('2024-01-01T13:00:00Z'), 0, anchor))).toBe('2024-01-01T12:10:00.000Z');
    expect(previousOccurrence(six, t('2024-01-01T03:00:00Z'), 0, anchor)).toBeNull();
    expect(previousOccurrence(six, t('2024-01-01T03:00:00Z'), 0, null)).toBeNull();
  });

  it('jitter is stable per (agent, schedule), spreads a fleet, and stays in range', () => {
    const window = 30 * 60_000;
    expect(jitterOffsetMs('a', 'backup:nas:/home', window)).toBe(jitterOffsetMs('a', 'backup:nas:/home', window));
    const fleet = new Set(Array.from({ length: 50 }, (_, i) => jitterOffsetMs(`agent-${i}`, 'backup:nas:/home', window)));
    expect(fleet.size).toBeGreaterThan(45);
    for (const v of fleet) expect(v >= 0 && v < window).toBe(true);
    expect(jitterOffsetMs('a', 'k', 0)).toBe(0);
  });

  it('rejects invalid schedules with a readable message', () => {
    expect(() => validateSchedule({ kind: 'cron', expression: 'every day', timezone: null })).toThrow(/not a valid cron expression/);
    expect(() => validateSchedule({ kind: 'cron', expression: '0 2 * * *', timezone: 'Mars/Olympus' })).toThrow(/time zone/);
    expect(() => validateSchedule({ kind: 'every', intervalMs: 0 })).toThrow(/positive/);
    expect(() => validateSchedule({ kind: 'cron', expression: '@daily', timezone: 'UTC' })).not.toThrow();
  });
});

describe('retry policy', () => {
  it('classifies outcomes', () => {
    expect(classifyOutcome('locked', '')).toBe('transient');
    expect(classifyOutcome('stalled', '')).toBe('transient');
    expect(classifyOutcome('timeout', '')).toBe('transient');
    expect(classifyOutcome('wrong-password', '')).toBe('permanent');
    expect(classifyOutcome('no-repo', '')).toBe('permanent');
    expect(classifyOutcome('config-error', '')).toBe('permanent');
    expect(classifyOutcome('partial', '')).toBe('ok');
    expect(classifyOutcome('cancelled', '')).toBe('ignore');
    expect(classifyOutcome('failed', 'Save(<data/1234>) returned error: Put "https://s3/…": dial tcp: i/o timeout')).toBe('transient');
    expect(classifyOutcome('failed', 'Fatal: unable to save snapshot: disk full')).toBe('permanent');
    expect(looksLikeTransport('Load(<lock/abcd>) failed: 503 Service Unavailable')).toBe(true);
    expect(looksLikeTransport('Fatal: invalid exclude pattern')).toBe(false);
  });

  it('backs off exponentially up to the cap; maxAttempts counts the first try', () => {
    const p = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 5000 };
    expect([2, 3, 4, 5, 6].map((a) => retryDelayMs(p, a))).toEqual([1000, 2000, 4000, 5000, null]);
    expect(retryDelayMs({ ...p, maxAttempts: 1 }, 2)).toBeNull();
  });
});
