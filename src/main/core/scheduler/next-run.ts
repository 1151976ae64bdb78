import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import type { Schedule } from '../config/types.js';

/**
 * A stable offset in `[0, jitterMs)` for one (agent, schedule) pair.
 *
 * Hash-based rather than random: a fleet sharing `0 2 * * *` spreads over the jitter window, while one agent
 * always runs at the same offset (predictable for its user, and catch-up detection stays exact).
 */
export function jitterOffsetMs(agentId: string, scheduleKey: string, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const digest = createHash('sha256').update(`${agentId}\0${scheduleKey}`).digest();
  const fraction = digest.readUIntBE(0, 6) / 2 ** 48;
  return Math.floor(fraction * jitterMs);
}

const cronCache = new Map<string, Cron>();

/** A parsed croner pattern (no callback, so no timer is ever started by croner). */
function cronFor(expression: string, timezone: string | null): Cron {
  const key = `${timezone ?? ''}\0${expression}`;
  let cron = cronCache.get(key);
  if (!cron) {
    cron = new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
    cronCache.set(key, cron);
  }
  return cron;
}

/** Throws a readable error when a cron expression or time zone is invalid. */
export function validateSchedule(schedule: Schedule): void {
  if (schedule.kind === 'every') {
    if (!(schedule.intervalMs > 0)) throw new Error('schedule: the interval must be positive, e.g. `every 6h`');
    return;
  }
  try {
    cronFor(schedule.expression, schedule.timezone).nextRun(new Date(0));
  } catch (e) {
    throw new Error(`schedule: "${schedule.expression}" is not a valid cron expression or time zone (${String(e)})`, { cause: e });
  }
}

/**
 * The first occurrence strictly after `after` (wall ms), with the jitter offset added.
 *
 * - `cron`: the pattern's next match (in its time zone) + `offsetMs`.
 * - `every`: `anchor + interval`, where `anchor` is the last run's start; with no last run, `after` itself
 *   (the caller decides when a first run happens). Never in the past: a missed interval is a catch-up,
 *   decided by the scheduler, not here.
 */
export function nextOccurrence(schedule: Schedule, after: number, offsetMs: number, anchor: number | null = null): number | null {
  if (schedule.kind === 'every') {
    const base = anchor ?? after;
    let next = base + schedule.intervalMs;
    if (next <= after) next += Math.ceil((after - next + 1) / schedule.intervalMs) * schedule.intervalMs;
    return next;
  }
  const next = cronFor(schedule.expression, schedule.timezone).nextRun(new Date(after - offsetMs));
  return next ? next.getTime() + offsetMs : null;
}

/**
 * The latest occurrence at or before `at` (wall ms), jitter included, or null when there is none.
 *
 * For `every` it is `anchor + k·interval` (null without an anchor: nothing was ever due).
 */
export function previousOccurrence(schedule: Schedule, at: number, offsetMs: number, anchor: number | null = null): number | null {
  if (schedule.kind === 'every') {
    if (anchor === null || anchor + schedule.intervalMs > at) return null;
    return anchor + Math.floor((at - anchor) / schedule.intervalMs) * schedule.intervalMs;
  }
  const ref = at - offsetMs;
  // croner's previousRuns excludes a match exactly at the reference, so look one second later and filter.
  const runs = cronFor(schedule.expression, schedule.timezone).previousRuns(2, new Date(ref + 1000));
  const hit = runs.map((d) => d.getTime()).find((t) => t <= ref);
  return hit === undefined ? null : hit + offsetMs;
}
