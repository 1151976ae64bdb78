import { z } from 'zod';
import type { RunOutcome } from '../../../../shared/model/run.js';
import { registerSecret } from '../../log/redact.js';
import type { ExecutionResult } from '../types.js';
import type { TaskParams, ValidatedTask } from './types.js';

const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');
const str = z.string().max(4096);
const strList = z.array(str.min(1)).max(10_000);
const posInt = z.number().int().positive();

const BackupParams = z
  .object({
    /** An extension of §6: a source this agent has configured (a path, or a plugin source's id or name) instead of paths. */
    source: str.min(1).optional(),
    paths: strList.default([]),
    exclude: strList.default([]),
    tags: z
      .array(
        z
          .string()
          .min(1)
          .max(256)
          .refine((t) => !t.includes(','), 'tags must not contain ","'),
      )
      .max(100)
      .default([]),
    host: str.min(1).nullable().optional(),
    limit_upload_kib: z.number().int().nonnegative().nullable().optional(),
  })
  .refine((b) => b.paths.length > 0 || b.source !== undefined, { message: 'a backup needs at least one path (or a configured source)', path: ['paths'] });
const CheckParams = z.object({
  read_data_subset: z
    .string()
    .regex(/^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/i, 'e.g. "5%", "1/10" or "500M"')
    .nullable()
    .optional(),
});
const ForgetParams = z.object({
  keep: z
    .object({
      last: posInt.optional(),
      hourly: posInt.optional(),
      daily: posInt.optional(),
      weekly: posInt.optional(),
      monthly: posInt.optional(),
      yearly: posInt.optional(),
      within: z
        .string()
        .regex(/^(\d+[ymdh])+$/, 'restic duration such as "30d" or "1y2m"')
        .optional(),
    })
    .refine((k) => Object.values(k).some((v) => v !== undefined), 'keep needs at least one rule (refusing to forget everything)'),
  group_by: z
    .string()
    .regex(/^(host|paths|tags)?(,(host|paths|tags))*$/)
    .nullable()
    .optional(),
  host: str.min(1).nullable().optional(),
  tags: z.array(z.string().min(1).max(256)).max(100).default([]),
});
const PruneParams = z.object({
  max_unused: z
    .string()
    .regex(/^(\d+(\.\d+)?%|\d+[KMGT]?|unlimited)$/i)
    .nullable()
    .optional(),
  max_repack_size: z
    .string()
    .regex(/^\d+[KMGT]?$/i)
    .nullable()
    .optional(),
});

const Envelope = z.object({
  task_id: id,
  lease_id: id,
  type: z.string(),
  attempt: z.number().int().min(1),
  offer_expires_in_s: z.number().nonnegative().finite().default(60),
  lease_ttl_s: z.number().positive().finite().default(120),
  max_runtime_s: z.number().positive().finite().default(21_600),
  cancel_grace_s: z.number().nonnegative().finite().default(60),
  lost_after_s: z.number().nonnegative().finite().default(1800),
  repo: z.object({
    repo_id: z.string().min(1).max(200),
    url: z.string().min(1).max(4096),
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'environment variable names only'), z.string().max(65_536)).default({}),
    password: z.string().min(1).max(4096),
    credentials_expire_in_s: z.number().nonnegative().nullable().optional(),
  }),
  params: z.record(z.string(), z.unknown()).default({}),
});

/** Result of validating one offer: a task, a rejection to report, or garbage we cannot even answer. */
export type OfferCheck =
  | { readonly kind: 'task'; readonly task: ValidatedTask }
  | { readonly kind: 'reject'; readonly taskId: string; readonly leaseId: string; readonly attempt: number; readonly reason: string }
  | { readonly kind: 'ignore'; readonly reason: string };

const where = (issues: ReadonlyArray<z.core.$ZodIssue>) =>
  issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');

/**
 * Validates a task offer (spec §5.4). Secrets in `repo` are registered for redaction and stay in memory.
 * Unknown types and bad params become `reject` with a reason naming the field.
 */
export function validateOffer(raw: unknown): OfferCheck {
  const head = z.object({ task_id: id, lease_id: id, attempt: z.number().int().min(1).default(1) }).safeParse(raw);
  if (!head.success) return { kind: 'ignore', reason: `offer without valid task_id/lease_id: ${where(head.error.issues)}` };
  const { task_id: taskId, lease_id: leaseId, attempt } = head.data;
  const reject = (reason: string): OfferCheck => ({ kind: 'reject', taskId, leaseId, attempt, reason });
  const env = Envelope.safeParse(raw);
  if (!env.success) return reject(`invalid task payload: ${where(env.error.issues)}`);
  const t = env.data;
  // Credentials are masked everywhere from now on, even if the rest of the payload is rejected.
  registerSecret(t.repo.password);
  for (const v of Object.values(t.repo.env)) registerSecret(v);
  const p = t.params;
  let params: TaskParams;
  switch (t.type) {
    case 'backup': {
      const r = BackupParams.safeParse(p);
      if (!r.success) return reject(`invalid backup params: ${where(r.error.issues)}`);
      const taskTag = `task=${taskId}`;
      params = {
        type: 'backup',
        source: r.data.source ?? null,
        paths: r.data.paths,
        exclude: r.data.exclude,
        tags: [...r.data.tags.filter((x) => x !== taskTag), taskTag],
        host: r.data.host ?? null,
        limitUploadKiB: r.data.limit_upload_kib ?? null,
      };
      break;
    }
    case 'check': {
      const r = CheckParams.safeParse(p);
      if (!r.success) return reject(`invalid check params: ${where(r.error.issues)}`);
      params = { type: 'check', readDataSubset: r.data.read_data_subset ?? null };
      break;
    }
    case 'forget': {
      const r = ForgetParams.safeParse(p);
      if (!r.success) return reject(`invalid forget params: ${where(r.error.issues)}`);
      params = { type: 'forget', keep: r.data.keep, groupBy: r.data.group_by ?? null, host: r.data.host ?? null, tags: r.data.tags };
      break;
    }
    case 'prune': {
      const r = PruneParams.safeParse(p);
      if (!r.success) return reject(`invalid prune params: ${where(r.error.issues)}`);
      params = { type: 'prune', maxUnused: r.data.max_unused ?? null, maxRepackSize: r.data.max_repack_size ?? null };
      break;
    }
    default:
      return reject(`unsupported task type "${t.type.slice(0, 50)}"`);
  }
  const reconcile = z.string().max(300).nullable().optional().safeParse(p.reconcile_tag);
  const pre = z.array(z.string()).max(10).optional().safeParse(p.pre);
  if (!reconcile.success) return reject('invalid params.reconcile_tag: expected a string or null');
  if (!pre.success) return reject('invalid params.pre: expected a list of step names');
  const unknownPre = (pre.data ?? []).filter((s) => s !== 'unlock');
  if (unknownPre.length > 0) return reject(`unsupported params.pre step "${unknownPre[0]!.slice(0, 50)}"`);
  return {
    kind: 'task',
    task: {
      taskId,
      leaseId,
      attempt: t.attempt,
      type: t.type,
      offerExpiresInS: t.offer_expires_in_s,
      leaseTtlS: t.lease_ttl_s,
      maxRuntimeS: t.max_runtime_s,
      cancelGraceS: t.cancel_grace_s,
      lostAfterS: t.lost_after_s,
      repo: {
        repoId: t.repo.repo_id,
        url: t.repo.url,
        env: t.repo.env,
        password: t.repo.password,
        credentialsExpireInS: t.repo.credentials_expire_in_s ?? null,
      },
      params,
      reconcileTag: reconcile.data ?? null,
      pre: (pre.data ?? []) as Array<'unlock'>,
    },
  };
}

/** The task's params as stored in the journal: everything except credentials. */
export function paramsWithoutSecrets(task: ValidatedTask): string {
  return JSON.stringify({ type: task.type, repo_id: task.repo.repoId, params: task.params, reconcile_tag: task.reconcileTag, pre: task.pre });
}

/** Why the agent stopped restic itself, if it did. */
export type StopReason = 'cancel' | 'timeout' | 'shutdown' | 'superseded' | 'stalled' | null;

/** Terminal state plus `result.error` for the status document (spec §5.5.4). */
export interface MappedOutcome {
  readonly state: 'succeeded' | 'failed' | 'cancelled' | 'timed_out';
  readonly incomplete: boolean;
  readonly error: { code: string; message: string; retryable: boolean } | null;
}

const FAIL: Partial<Record<RunOutcome, { code: string; retryable: boolean }>> = {
  'no-repo': { code: 'repo_not_found', retryable: false },
  locked: { code: 'repo_locked', retryable: true },
  'wrong-password': { code: 'wrong_password', retryable: false },
  stalled: { code: 'stalled', retryable: true },
  'config-error': { code: 'config_error', retryable: false },
  crash: { code: 'restic_error', retryable: false },
  failed: { code: 'restic_error', retryable: false },
};

/**
 * Maps the executor's result to the protocol outcome. The true result wins over a cancel request: a backup
 * that finished is reported `succeeded` even if a cancel arrived meanwhile (spec §8.1).
 */
export function mapOutcome(r: ExecutionResult, stop: StopReason): MappedOutcome {
  const err = (code: string, retryable: boolean) => ({ state: 'failed' as const, incomplete: false, error: { code, message: r.message, retryable } });
  switch (r.outcome) {
    case 'success':
      return { state: 'succeeded', incomplete: false, error: null };
    case 'partial':
      return { state: 'succeeded', incomplete: true, error: null };
    case 'timeout':
      return { state: 'timed_out', incomplete: false, error: { code: 'timed_out', message: r.message, retryable: false } };
    case 'cancelled':
    case 'killed':
      if (stop === 'timeout') return { state: 'timed_out', incomplete: false, error: { code: 'timed_out', message: r.message, retryable: false } };
      if (stop === 'stalled') return err('stalled', true);
      if (stop === 'shutdown') return { state: 'cancelled', incomplete: false, error: { code: 'agent_shutdown', message: r.message, retryable: true } };
      if (stop === 'cancel' || stop === 'superseded') return { state: 'cancelled', incomplete: false, error: null };
      return r.outcome === 'killed' ? err('killed', false) : err('interrupted', false);
    default: {
      const f = FAIL[r.outcome];
      return f ? err(f.code, f.retryable) : err('restic_error', false);
    }
  }
}
