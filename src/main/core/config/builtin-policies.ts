import type { PolicyConfig, RetryPolicy, RunConditions, Throttle } from './types.js';

/** Conditions of a policy that sets none: always run. */
export const DEFAULT_CONDITIONS: RunConditions = {
  acPowerOnly: false,
  notOnMetered: false,
  minFreeCacheBytes: 0,
  requireRepositoryReachable: false,
  deadlineMs: 0,
};

/** Maintenance (prune, check) reads and rewrites repository data: on AC power, off metered links, within a week. */
export const MAINTENANCE_CONDITIONS: RunConditions = {
  acPowerOnly: true,
  notOnMetered: true,
  minFreeCacheBytes: 0,
  requireRepositoryReachable: false,
  deadlineMs: 7 * 86_400_000,
};

/** Default prune cadence: weekly, Sunday 04:00 local time. */
export const DEFAULT_PRUNE_SCHEDULE = '0 4 * * 0';
/** Default check cadence: weekly, Saturday 04:00 local time, reading all data over `DEFAULT_READ_DATA_CYCLE` checks. */
export const DEFAULT_CHECK_SCHEDULE = '0 4 * * 6';
export const DEFAULT_READ_DATA_CYCLE = 8;

/** Three attempts, backing off from one minute up to half an hour. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 1_800_000 };

/** No limits, normal priority. */
export const DEFAULT_THROTTLE: Throttle = { limitUploadKiBs: 0, limitDownloadKiBs: 0, lowPriority: false, readConcurrency: 0 };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function builtin(name: string, expression: string, rest: Pick<PolicyConfig, 'jitterMs' | 'retention' | 'staleAfterMs'>): PolicyConfig {
  return {
    name,
    schedule: { kind: 'cron', expression, timezone: null },
    prune: 'maintenance',
    conditions: DEFAULT_CONDITIONS,
    retry: DEFAULT_RETRY,
    throttle: DEFAULT_THROTTLE,
    ...rest,
  };
}

/**
 * The policies every configuration has: `hourly`, `daily`, `weekly`. A file's `policies:` entry with the
 * same name overrides them field by field.
 */
export const BUILTIN_POLICIES: Readonly<Record<string, PolicyConfig>> = {
  hourly: builtin('hourly', '0 * * * *', {
    jitterMs: 5 * 60_000,
    retention: { keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
    staleAfterMs: 3 * HOUR,
  }),
  daily: builtin('daily', '0 2 * * *', {
    jitterMs: 30 * 60_000,
    retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 3 },
    staleAfterMs: 2 * DAY,
  }),
  weekly: builtin('weekly', '0 3 * * 0', {
    jitterMs: HOUR,
    retention: { keepWeekly: 8, keepMonthly: 12, keepYearly: 5 },
    staleAfterMs: 9 * DAY,
  }),
};
