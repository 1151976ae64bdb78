/**
 * Parsers for the human-friendly units of the configuration file: durations (`1h30m`), sizes (`2GiB`) and
 * transfer rates (`2MiB/s`). Each returns the number or a message saying what was expected.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
const DURATION_HELP = 'a duration such as "500ms", "30s", "5m", "1h30m", "2d" or "1w"';
/** Longest duration the file accepts: a year. Longer values are typos (`30000d`), not intentions. */
export const MAX_DURATION_MS = 365 * 86_400_000;

/** Parses `500ms`, `30s`, `5m`, `1h`, `2d`, `1w` and combinations (`1h30m`) into milliseconds; `0` means off. */
export function parseDuration(input: unknown): Parsed<number> {
  if (input === 0 || input === '0') return { ok: true, value: 0 };
  if (typeof input === 'number') {
    return { ok: false, message: `expected ${DURATION_HELP}; a bare number has no unit (write "${input}s" for seconds)` };
  }
  if (typeof input !== 'string') return { ok: false, message: `expected ${DURATION_HELP}` };
  const text = input.trim().toLowerCase().replace(/\s+/g, '');
  let total = 0;
  let consumed = 0;
  DURATION_PART.lastIndex = 0;
  for (let m = DURATION_PART.exec(text); m; m = DURATION_PART.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? Number.NaN);
    consumed = DURATION_PART.lastIndex;
  }
  if (text === '' || consumed !== text.length || !Number.isFinite(total)) {
    return { ok: false, message: `expected ${DURATION_HELP}` };
  }
  if (total > MAX_DURATION_MS) return { ok: false, message: `too long: at most 365d (got "${input}")` };
  return { ok: true, value: Math.round(total) };
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;
const SIZE_HELP = 'a size such as "500MB", "2GB" or "2GiB" (or a number of bytes)';

/** Parses `500MB` (decimal), `2GiB` (binary) or a plain number of bytes. */
export function parseSize(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0 ? { ok: true, value: Math.round(input) } : { ok: false, message: `expected ${SIZE_HELP}` };
  }
  if (typeof input !== 'string') return { ok: false, message: `expected ${SIZE_HELP}` };
  const m = SIZE.exec(input.trim().toLowerCase());
  const factor = m ? SIZE_UNITS[m[2] || 'b'] : undefined;
  if (!m || factor === undefined) return { ok: false, message: `expected ${SIZE_HELP}` };
  return { ok: true, value: Math.round(Number(m[1]) * factor) };
}

const RATE_HELP = 'a rate such as "2MiB/s" or "500KB/s", or a number of KiB/s';

/** Parses a transfer rate into KiB/s (restic's `--limit-upload` unit): a number is already KiB/s. */
export function parseRateKiBs(input: unknown): Parsed<number> {
  if (typeof input === 'number') {
    return Number.isInteger(input) && input >= 0 ? { ok: true, value: input } : { ok: false, message: `expected ${RATE_HELP}` };
  }
  if (typeof input !== 'string') return { ok: false, message: `expected ${RATE_HELP}` };
  const text = input.trim().replace(/\s*\/\s*s$/i, '');
  const size = parseSize(text);
  if (!size.ok || /^\d+(\.\d+)?$/.test(text)) return { ok: false, message: `expected ${RATE_HELP}` };
  // Never round a positive limit down to 0, which restic reads as "unlimited".
  return { ok: true, value: size.value === 0 ? 0 : Math.max(1, Math.round(size.value / 1024)) };
}

/** `1000000` → `1,000,000`, without `toLocaleString` (which loads ICU data: ~6 MB of RSS for a daemon). */
export function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Formats milliseconds back into the shortest duration string (`5400000` → `1h30m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
