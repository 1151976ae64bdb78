/**
 * The YAML configuration file's schema (snake_case, strict: unknown keys are errors with a "did you mean"
 * hint). Units (durations, sizes, rates), cron expressions and time zones are parsed here, so each error
 * carries the exact key path; `normalise()` then fills in defaults and checks names across sections.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { parseDuration, parseRateKiBs, parseSize, thousands, type Parsed } from './units.js';
import { duration, hooks, name, strict, tags, text, unit } from './schema-parts.js';
import { pluginsSchema } from '../plugins/registry.js';

export { KNOWN_KEYS } from './schema-parts.js';

export { normalise, crossCheck, type NormaliseContext } from './normalise.js';

const size = unit(parseSize);
const rate = unit(parseRateKiBs);
/**
 * A whole number in [min, max]. YAML reads `1e400` as Infinity and `99999999999999999999` as 1e20: both are
 * "too large", with the allowed range, rather than zod's "expected number, got null".
 */
function wholeNumber(min: number, max: number) {
  const range = `allowed: ${min} to ${thousands(max)}`;
  return z.unknown().transform((v, ctx) => {
    const fail = (message: string) => {
      ctx.issues.push({ code: 'custom', message, input: v });
      return z.NEVER;
    };
    if (typeof v !== 'number' || Number.isNaN(v)) return fail(`expected a whole number (${range})`);
    if (v > max) return fail(`too large (${range})`);
    if (v < min) return fail(v === -Infinity ? `too small (${range})` : `must be ${min} or more (${range})`);
    if (!Number.isInteger(v)) return fail(`expected a whole number (${range})`);
    return v;
  });
}
const count = wholeNumber(0, 1_000_000);
const positive = wholeNumber(1, 1_000);

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name (letters, digits and _)');

/** An IANA time zone such as `Europe/Berlin` (checked against the runtime's time zone database). */
const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'expected an IANA time zone such as "Europe/Berlin" or "UTC"');

/** What a `schedule:` string parses to; the policy's `timezone` is attached during normalisation. */
export type RawSchedule = { kind: 'cron'; expression: string } | { kind: 'every'; intervalMs: number };

/** Parses `every 6h` or a croner expression (5 or 6 fields, or `@hourly`, `@daily` …). */
export function parseSchedule(input: string): Parsed<RawSchedule> {
  const value = input.trim();
  const every = /^every\s+(.+)$/i.exec(value);
  if (every) {
    const d = parseDuration(every[1]);
    if (!d.ok) return { ok: false, message: `"every" needs ${d.message.replace(/^expected /, '')}` };
    if (d.value < 1000) return { ok: false, message: '"every" needs an interval of at least 1s' };
    return { ok: true, value: { kind: 'every', intervalMs: d.value } };
  }
  try {
    new Cron(value, { paused: true }).stop();
    return { ok: true, value: { kind: 'cron', expression: value } };
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, '') : String(e);
    return { ok: false, message: `expected a cron expression ("0 3 * * *", "@daily") or "every <duration>" ("every 6h"): ${why}` };
  }
}

const schedule = z.string().transform((v, ctx) => {
  const r = parseSchedule(v);
  if (r.ok) return r.value;
  ctx.issues.push({ code: 'custom', message: r.message, input: v });
  return z.NEVER;
});

/** restic's `--read-data-subset`: `n/t`, `x%` or a size such as `500M`. */
const readDataSubset = z
  .union([z.string(), z.number()], { error: 'expected "n/t" (e.g. "1/10"), a percentage ("5%") or a size ("500M")' })
  .transform(String)
  .refine((v) => /^\d+\/\d+$/.test(v) || /^\d+(\.\d+)?%$/.test(v) || /^\d+(\.\d+)?[KMGT]?$/i.test(v), {
    message: 'expected "n/t" (e.g. "1/10"), a percentage ("5%") or a size ("500M")',
  });

/** Run conditions of a policy or a maintenance job. */
const conditions = strict({
  ac_power_only: z.boolean().optional(),
  not_on_metered: z.boolean().optional(),
  min_free_cache: size.optional(),
  require_repository_reachable: z.boolean().optional(),
  deadline: duration.optional(),
});

/** restic's `--max-unused`: a size, a percentage or `unlimited`. */
const maxUnused = z
  .union([z.string(), z.number()], { error: 'expected a percentage ("5%"), a size ("1G") or "unlimited"' })
  .transform(String)
  .refine((v) => /^\d+(\.\d+)?%$/.test(v) || /^\d+(\.\d+)?[KMGT]?$/i.test(v) || v === 'unlimited', {
    message: 'expected a percentage ("5%"), a size ("1G") or "unlimited"',
  });
const repackSize = z
  .union([z.string(), z.number()], { error: 'expected a size such as "2G" or "500M"' })
  .transform(String)
  .refine((v) => /^\d+(\.\d+)?[KMGT]?$/i.test(v), { message: 'expected a size such as "2G" or "500M"' });

const repository = strict({
  url: text,
  password_file: text.optional(),
  password_command: text.optional(),
  password_keyring: z.string().regex(/^\S+$/, 'expected a SecretStore account name without spaces').optional(),
  env: z.record(envName, z.union([z.string(), z.number(), z.boolean()], { error: 'expected a text value' }).transform(String)).optional(),
  secret_env: z.array(envName).optional(),
  check: z
    .union([
      z.literal(false),
      strict({
        schedule: schedule.optional(),
        timezone: timezone.optional(),
        read_data_subset: readDataSubset.optional(),
        read_data_cycle: wholeNumber(0, 10_000).optional(),
        conditions: conditions.optional(),
      }),
    ])
    .optional(),
  prune: z
    .union([
      z.literal(false),
      strict({
        schedule: schedule.optional(),
        timezone: timezone.optional(),
        max_unused: maxUnused.optional(),
        max_repack_size: repackSize.optional(),
        conditions: conditions.optional(),
      }),
    ])
    .optional(),
}).superRefine((repo, ctx) => {
  const given = (['password_file', 'password_command', 'password_keyring'] as const).filter((k) => repo[k] !== undefined);
  if (given.length > 1) {
    ctx.issues.push({ code: 'custom', message: `give only one of ${given.join(', ')}`, input: repo, path: [given[1] ?? ''] });
  }
  for (const v of repo.secret_env ?? []) {
    if (repo.env && v in repo.env) {
      ctx.issues.push({ code: 'custom', message: `"${v}" is in both env and secret_env; keep it in secret_env only`, input: v, path: ['secret_env'] });
    }
  }
});

const source = strict({
  path: text,
  policy: text.optional(),
  repository: text.optional(),
  exclude: z.array(text).optional(),
  tags: tags.optional(),
  hooks: hooks.optional(),
});

const retention = strict({
  keep_last: count.optional(),
  keep_hourly: count.optional(),
  keep_daily: count.optional(),
  keep_weekly: count.optional(),
  keep_monthly: count.optional(),
  keep_yearly: count.optional(),
  keep_within: z
    .string()
    .regex(/^(\d+[ymdh])+$/, 'expected a restic duration such as "30d" or "1y6m"')
    .optional(),
}).refine((r) => Object.values(r).some((v) => v !== undefined), {
  message: 'give at least one keep_* rule, or set retention: null to keep every snapshot',
});

const policy = strict({
  schedule: schedule.optional(),
  timezone: timezone.optional(),
  jitter: duration.optional(),
  retention: retention.nullable().optional(),
  prune: z
    .union([z.boolean(), z.literal('after_backup')], { error: 'expected true (prune at the repository\'s maintenance cadence), false, or "after_backup"' })
    .optional(),
  conditions: conditions.optional(),
  retry: strict({
    max_attempts: positive.optional(),
    initial_delay: duration.optional(),
    max_delay: duration.optional(),
  }).optional(),
  throttle: strict({
    limit_upload: rate.optional(),
    limit_download: rate.optional(),
    low_priority: z.boolean().optional(),
    read_concurrency: count.optional(),
  }).optional(),
  stale_after: duration.optional(),
});

/** The whole file. Every section is optional: an empty file is a valid (unconfigured) agent. */
export const configFileSchema = strict({
  agent: strict({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/, 'an agent id may contain only letters, digits, ".", "_", "@" and "-"')
      .optional(),
    hostname: text.optional(),
    poll_interval: duration.optional(),
    heartbeat_interval: duration.optional(),
    data_dir: text.optional(),
    log_level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
    catch_up_delay: duration.optional(),
  }).optional(),
  restic: strict({
    binary: text.optional(),
    cache_dir: text.optional(),
    config_dir: text.optional(),
    cancel_grace: duration.optional(),
    stall_timeout: duration.optional(),
    run_timeout: duration.optional(),
    retry_lock: duration.optional(),
  }).optional(),
  repository: repository.optional(),
  repositories: z.record(name('repository'), repository).optional(),
  backup: strict({
    sources: z.array(source).optional(),
    exclude: z.array(text).optional(),
  }).optional(),
  plugins: pluginsSchema.optional(),
  hooks: hooks.optional(),
  policies: z.record(name('policy'), policy).optional(),
  secrets: strict({
    backend: z.enum(['auto', 'keyring', 'file']).optional(),
    file: text.optional(),
  }).optional(),
  pause: strict({ default: duration.optional() }).optional(),
  orchestrator: strict({
    url: z.url({ message: 'expected an absolute URL such as "https://orchestrator.example.com"' }),
    protocol: z.enum(['v1', 'restic-monitor', 'auto']).optional(),
    ca_file: text.optional(),
    insecure_loopback: z.boolean().optional(),
    token: text.optional(),
  }).optional(),
  update: strict({
    enabled: z.boolean().optional(),
    channel: z.enum(['stable', 'beta']).optional(),
    feed: text.optional(),
    window: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/, 'expected "HH:MM-HH:MM" in local time, such as "02:00-05:00"')
      .optional(),
    public_keys: z.array(z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/, 'expected ed25519:<base64 of the 32-byte public key>')).optional(),
    ca_file: text.optional(),
    check_every: duration.optional(),
    health_timeout: duration.optional(),
  }).optional(),
});

/** The file after schema validation: units parsed, defaults not yet applied. */
export type RawConfig = z.output<typeof configFileSchema>;
/** One policy as written in the file (every field optional). */
export type RawPolicy = z.output<typeof policy>;
/** One repository as written in the file. */
export type RawRepository = z.output<typeof repository>;
