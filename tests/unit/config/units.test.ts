import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseRateKiBs, parseSize } from '../../../src/main/core/config/units.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    [0, 0],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });

  it.each(['', '30', 'soon', '5 minutes', '1y', '-5m', '30s5'])('rejects %j', (input) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/duration such as/);
  });

  it('tells how to fix a bare number', () => {
    const r = parseDuration(60);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('"60s"');
  });

  it('round-trips through formatDuration', () => {
    for (const ms of [500, 90_000, 5_400_000, 694_861_001]) {
      const r = parseDuration(formatDuration(ms));
      expect(r).toEqual({ ok: true, value: ms });
    }
  });
});

describe('parseSize', () => {
  it.each([
    ['500MB', 500e6],
    ['2GB', 2e9],
    ['2GiB', 2 * 1024 ** 3],
    ['1.5 KiB', 1536],
    ['10b', 10],
    [4096, 4096],
    ['2gb', 2e9],
  ])('%s → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toEqual({ ok: true, value: bytes });
  });

  it.each(['2XB', 'big', '-1MB', -5, true])('rejects %j', (input) => {
    expect(parseSize(input).ok).toBe(false);
  });
});

describe('parseRateKiBs', () => {
  it.each([
    ['2MiB/s', 2048],
    ['500KiB/s', 500],
    ['1MB/s', 977],
    ['1GiB', 1024 * 1024],
    [300, 300],
    ['1B/s', 1],
    [0, 0],
  ])('%s → %d KiB/s', (input, kib) => {
    expect(parseRateKiBs(input)).toEqual({ ok: true, value: kib });
  });

  it.each(['fast', '2000', 1.5, -1])('rejects %j', (input) => {
    expect(parseRateKiBs(input).ok).toBe(false);
  });
});
