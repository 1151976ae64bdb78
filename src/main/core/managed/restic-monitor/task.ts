import type { RepositoryConfig, Retention } from '../../config/types.js';
import { WireTask } from './schemas.js';
import type { RmTask, RmTaskType } from './types.js';

const TYPES: ReadonlySet<string> = new Set<RmTaskType>(['backup', 'check', 'prune']);

/** A task the server handed out that we cannot run; still carries the ids needed to report it. */
export interface RejectedTask {
  readonly id: string;
  readonly policyId: string;
  readonly taskType: string;
  readonly reason: string;
}

/** The result of validating one wire task. */
export type ParsedTask = { readonly ok: true; readonly task: RmTask } | { readonly ok: false; readonly rejected: RejectedTask | null; readonly reason: string };

/**
 * Validates and normalises one task from `GET /agents/{id}/tasks`.
 *
 * A task with usable ids but bad content comes back as `rejected` (so it can be reported as failed instead of
 * staying `assigned` forever); one without ids cannot be reported at all (`rejected: null`).
 */
export function parseTask(raw: unknown): ParsedTask {
  const r = WireTask.safeParse(raw);
  if (!r.success) {
    const reason = r.error.issues.map((i) => `${i.path.join('.') || 'task'}: ${i.message}`).join('; ');
    const ids = reportableIds(raw);
    return { ok: false, rejected: ids ? { ...ids, reason } : null, reason };
  }
  const w = r.data;
  if (!TYPES.has(w.task_type)) {
    const reason = `task_type "${w.task_type}" is not supported (expected backup, check or prune)`;
    return { ok: false, rejected: { id: w.id, policyId: w.policy_id, taskType: w.task_type, reason }, reason };
  }
  const notBefore = Math.max(timeMs(w.next_retry_at), timeMs(w.scheduled_for));
  const includePaths = Array.isArray(w.include_paths) ? w.include_paths : (w.include_paths?.paths ?? []);
  const ex = w.exclude_paths;
  const excludePatterns = Array.isArray(ex) ? ex : [...(ex?.patterns ?? []), ...(ex?.paths ?? [])];
  if (w.task_type === 'backup' && includePaths.length === 0) {
    const reason = 'include_paths.paths is empty: a backup needs at least one path';
    return { ok: false, rejected: { id: w.id, policyId: w.policy_id, taskType: w.task_type, reason }, reason };
  }
  let retention: Retention | null;
  try {
    retention = normaliseRetention(w.retention ?? null);
  } catch (e) {
    const reason = (e as Error).message;
    return { ok: false, rejected: { id: w.id, policyId: w.policy_id, taskType: w.task_type, reason }, reason };
  }
  if (w.task_type === 'prune' && retention === null) {
    const reason = 'retention is empty: prune (forget --prune) without keep rules would remove every snapshot';
    return { ok: false, rejected: { id: w.id, policyId: w.policy_id, taskType: w.task_type, reason }, reason };
  }
  return {
    ok: true,
    task: {
      id: w.id.toLowerCase(),
      policyId: w.policy_id.toLowerCase(),
      type: w.task_type as RmTaskType,
      serverRepository: w.repository,
      repository: mapRepositoryString(w.repository),
      includePaths,
      excludePatterns,
      retention,
      retryCount: w.retry_count ?? 0,
      maxRetries: w.max_retries ?? null,
      notBefore: notBefore > 0 ? notBefore : null,
      createdAt: w.created_at ?? new Date(0).toISOString(),
    },
  };
}

function reportableIds(raw: unknown): { id: string; policyId: string; taskType: string } | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const re = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (typeof o.id !== 'string' || !re.test(o.id) || typeof o.policy_id !== 'string' || !re.test(o.policy_id)) return null;
  return { id: o.id.toLowerCase(), policyId: o.policy_id.toLowerCase(), taskType: typeof o.task_type === 'string' && o.task_type ? o.task_type : 'unknown' };
}

function timeMs(t: string | null | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : 0;
}

const RETENTION_KEYS: ReadonlyArray<[keyof Retention, ReadonlyArray<string>]> = [
  ['keepLast', ['keepLast', 'keep_last']],
  ['keepHourly', ['keepHourly', 'keep_hourly']],
  ['keepDaily', ['keepDaily', 'keep_daily']],
  ['keepWeekly', ['keepWeekly', 'keep_weekly']],
  ['keepMonthly', ['keepMonthly', 'keep_monthly']],
  ['keepYearly', ['keepYearly', 'keep_yearly']],
];

/**
 * Folds the retention object (camelCase via the API, snake_case for legacy-migrated policies) into `Retention`.
 * Returns null when no keep rule is set; throws with the field name on a bad value.
 */
export function normaliseRetention(raw: Readonly<Record<string, number | string | null>> | null): Retention | null {
  if (!raw) return null;
  const out: { -readonly [K in keyof Retention]: Retention[K] } = {};
  for (const [key, names] of RETENTION_KEYS) {
    for (const n of names) {
      const v = raw[n];
      if (v === undefined || v === null) continue;
      const num = typeof v === 'number' ? v : Number(v);
      if (!Number.isInteger(num) || num <= 0) throw new Error(`retention.${n} must be a positive integer, got ${JSON.stringify(v)}`);
      (out as Record<string, number>)[key] = num;
    }
  }
  const within = raw.keepWithin ?? raw.keep_within;
  if (within !== undefined && within !== null) {
    if (typeof within !== 'string' || !/^(?:\d+[yYmMwdDhH])+$/.test(within)) {
      throw new Error(`retention.keepWithin must be a restic duration like 30d, got ${JSON.stringify(within)}`);
    }
    out.keepWithin = within;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** Turns the server's repository string into a restic one: bare `http(s)://` rest-server URLs get `rest:`. */
export function mapRepositoryString(serverRepo: string): string {
  const s = serverRepo.trim();
  return /^https?:\/\//i.test(s) ? `rest:${s}` : s;
}

/**
 * A key two repository strings share when they name the same repository, ignoring what the server drops:
 * the `rest:` prefix, credentials in URLs, S3 endpoint/region, SFTP user/port, trailing slashes.
 */
export function repositoryMatchKey(repo: string): string {
  let s = repo.trim().replace(/\/+$/, '');
  if (/^rest:/i.test(s)) s = s.slice(5);
  if (/^https?:\/\//i.test(s)) {
    try {
      const u = new URL(s);
      return `rest:${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      return `rest:${s}`;
    }
  }
  const s3 = /^s3:(.*)$/i.exec(s);
  if (s3) {
    // s3:host/bucket/prefix or s3:https://host/bucket/prefix → bucket/prefix (the server always writes s3.amazonaws.com).
    const rest = (s3[1] ?? '').replace(/^https?:\/\//i, '');
    return `s3:${rest.split('/').slice(1).join('/')}`;
  }
  const sftp = /^sftp:(?:\/\/)?(?:[^@/]+@)?([^:/]+)(?::\d+)?[:/]?(.*)$/i.exec(s);
  if (sftp) return `sftp:${(sftp[1] ?? '').toLowerCase()}:/${(sftp[2] ?? '').replace(/^\/+/, '')}`;
  return s.replace(/\/+$/, '');
}

/**
 * The one configured repository matching a server repository string (see `repositoryMatchKey`); null when none
 * or several match (ambiguous: better to fail the task than to write into the wrong repository).
 */
export function matchRepository(repos: Readonly<Record<string, RepositoryConfig>>, serverRepo: string): RepositoryConfig | null {
  const key = repositoryMatchKey(mapRepositoryString(serverRepo));
  const hits = Object.values(repos).filter((r) => repositoryMatchKey(r.url) === key);
  return hits.length === 1 ? (hits[0] ?? null) : null;
}
