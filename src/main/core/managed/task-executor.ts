import type { Progress, RunKind } from '../../../shared/model/run.js';
import type { RepoAccess, Retention, SourceConfig } from '../config/types.js';
import type { ExecutionResult } from './types.js';
import type { LogLine, TaskExecutor, ValidatedTask } from './v1/types.js';
import { repositoryMatchKey } from './restic-monitor/task.js';
import type { RmExecTask, RmTaskExecutor } from './restic-monitor/types.js';
import type { Restic, ResticEvent, ResticResult, RunControl } from '../restic/restic.js';
import { killOrphan, processStartTime } from '../agent/orphans.js';
import { withHooks } from '../agent/hooks.js';
import { backupPluginSource } from '../agent/plugin-backup.js';
import { trackRun, type TrackerDeps } from '../agent/run-tracker.js';
import { findSource } from '../plugins/source-id.js';

/** A managed task in dialect-neutral terms: what restic must do, against which repository. */
export interface ManagedTask {
  readonly taskId: string;
  readonly kind: Extract<RunKind, 'backup' | 'check' | 'forget' | 'prune'>;
  readonly access: RepoAccess;
  /** A backup of a configured source (path or plugin, with its excludes and hooks) rather than of `paths`. */
  readonly source: string | null;
  readonly paths: ReadonlyArray<string>;
  readonly exclude: ReadonlyArray<string>;
  /** Includes the mandatory `task=<id>` tag for backups. */
  readonly tags: ReadonlyArray<string>;
  readonly limitUploadKiBs: number | null;
  readonly readDataSubset: string | null;
  readonly retention: Retention | null;
  readonly forgetHost: string | null;
  /** `forget --prune` (restic-monitor's prune task) rather than a bare forget. */
  readonly pruneAfterForget: boolean;
  readonly unlockFirst: boolean;
  readonly timeoutMs?: number;
  readonly cancelGraceMs?: number;
}

interface Ctl {
  readonly signal: AbortSignal;
  onSpawn?(pid: number): void;
  onProgress(p: Progress): void;
  onEvent(e: Exclude<ResticEvent, { type: 'progress' }>): void;
}

/**
 * Runs a managed task through the same path as every local run (`trackRun`): same queue — keyed by the
 * configured repository name when the task's repository is one of ours, so standalone schedules and tasks
 * never overlap on it — same history, same cancellation.
 */
export async function runManagedTask(deps: TrackerDeps, t: ManagedTask, ctl: Ctl): Promise<ExecutionResult> {
  const repository = queueKey(deps, t.access.url);
  // A task naming a source this agent does not have fails as a run (recorded and reported), not as a crash.
  const named = t.kind === 'backup' && t.source ? lookup(deps, t.source) : null;
  const source = named instanceof Error ? null : named;
  const op = async (restic: Restic, rc: RunControl): Promise<ResticResult> => {
    if (named instanceof Error) throw named;
    if (t.unlockFirst) await restic.unlock();
    switch (t.kind) {
      case 'backup': {
        const common = { tags: [...t.tags], limitUploadKiBs: t.limitUploadKiBs ?? undefined };
        if (!source) return restic.backup({ ...common, paths: [...t.paths], exclude: [...t.exclude] }, rc);
        return withHooks(source, rc, () =>
          source.plugin
            ? backupPluginSource(deps, source, restic, rc, { ...common, tags: [...common.tags, ...source.tags] })
            : restic.backup({ ...common, tags: [...common.tags, ...source.tags], paths: [source.path], exclude: [...source.exclude] }, rc),
        );
      }
      case 'check':
        return restic.check({ readDataSubset: t.readDataSubset }, rc);
      case 'prune':
        return t.retention
          ? restic.forget({ retention: t.retention, prune: true, host: t.forgetHost ?? undefined, tags: [...t.tags] }, rc)
          : restic.prune({}, rc);
      case 'forget':
        return restic.forget({ retention: t.retention ?? {}, prune: t.pruneAfterForget, host: t.forgetHost ?? undefined, tags: [...t.tags] }, rc);
    }
  };
  const { record } = await trackRun(
    deps,
    { kind: t.kind, trigger: 'task', repository, source: source?.path ?? (t.paths.join(', ') || null), policy: null, taskId: t.taskId, access: t.access },
    op,
    {
      signal: ctl.signal,
      timeoutMs: t.timeoutMs,
      cancelGraceMs: t.cancelGraceMs,
      onSpawn: ctl.onSpawn,
      tap: (e) => (e.type === 'progress' ? ctl.onProgress(e.progress) : ctl.onEvent(e)),
    },
  );
  return {
    outcome: record.outcome ?? 'failed',
    exitCode: record.exitCode,
    message: record.message ?? '',
    // trackRun already put the backup's snapshot and totals into the history record.
    snapshotId: record.snapshotId,
    stats: record.stats,
  };
}

/** The snapshot an earlier attempt committed, found by its `task=<id>` tag (never a second backup). */
export async function snapshotByTag(deps: TrackerDeps, access: RepoAccess, tag: string): Promise<string | null> {
  const found = await deps.repos.forAccess(access).snapshots({ tags: [tag] }, { signal: AbortSignal.timeout(120_000) });
  return found.sort((a, b) => b.time.localeCompare(a.time))[0]?.id ?? null;
}

/** The configured repository's name when the task's URL is one of ours (same queue as local runs), else the URL. */
function queueKey(deps: TrackerDeps, url: string): string {
  const key = repositoryMatchKey(url);
  return Object.values(deps.config.repositories).find((r) => repositoryMatchKey(r.url) === key)?.name ?? url;
}

/** A restic log or per-file error event as one line for an orchestrator's log stream. */
function eventLine(e: Exclude<ResticEvent, { type: 'progress' }>): { level: LogLine['level']; stream: 'stdout' | 'stderr'; text: string } {
  return e.type === 'log'
    ? { level: e.level, stream: e.stream, text: e.line }
    : { level: 'warn', stream: 'stderr', text: `${e.error.item}: ${e.error.message}` };
}

const KEEP: ReadonlyArray<[keyof NonNullable<Extract<ValidatedTask['params'], { type: 'forget' }>['keep']>, keyof Retention]> = [
  ['last', 'keepLast'],
  ['hourly', 'keepHourly'],
  ['daily', 'keepDaily'],
  ['weekly', 'keepWeekly'],
  ['monthly', 'keepMonthly'],
  ['yearly', 'keepYearly'],
  ['within', 'keepWithin'],
];

function lookup(deps: TrackerDeps, ref: string): SourceConfig | Error {
  try {
    return findSource(deps.config.sources, ref);
  } catch (e) {
    return e as Error;
  }
}

/** Protocol v1 task → `ManagedTask`. */
export function fromV1(task: ValidatedTask): ManagedTask {
  const access: RepoAccess = { url: task.repo.url, password: { kind: 'value', value: task.repo.password }, env: task.repo.env };
  const p = task.params;
  const retention: Retention | null =
    p.type === 'forget' ? Object.fromEntries(KEEP.filter(([k]) => p.keep[k] !== undefined).map(([k, r]) => [r, p.keep[k]])) : null;
  return {
    taskId: task.taskId,
    kind: p.type,
    access,
    source: p.type === 'backup' ? p.source : null,
    paths: p.type === 'backup' ? p.paths : [],
    exclude: p.type === 'backup' ? p.exclude : [],
    tags: p.type === 'backup' || p.type === 'forget' ? p.tags : [],
    limitUploadKiBs: p.type === 'backup' ? p.limitUploadKiB : null,
    readDataSubset: p.type === 'check' ? p.readDataSubset : null,
    retention,
    forgetHost: p.type === 'forget' ? p.host : null,
    pruneAfterForget: false,
    unlockFirst: task.pre.includes('unlock'),
    timeoutMs: task.maxRuntimeS > 0 ? task.maxRuntimeS * 1000 : undefined,
    cancelGraceMs: task.cancelGraceS * 1000,
  };
}

/** restic-monitor task → `ManagedTask` (its prune means `forget --prune` with the policy's retention). */
export function fromRestMonitor(task: RmExecTask): ManagedTask {
  return {
    taskId: task.id,
    kind: task.type,
    access: task.access,
    source: null,
    paths: task.includePaths,
    exclude: task.excludePatterns,
    tags: task.type === 'backup' ? [task.reconcileTag, `policy:${task.policyId}`] : [],
    limitUploadKiBs: null,
    readDataSubset: null,
    retention: task.retention,
    forgetHost: null,
    pruneAfterForget: true,
    unlockFirst: false,
  };
}

/** The v1 client's executor over the agent core. */
export function v1Executor(deps: () => TrackerDeps): TaskExecutor {
  return {
    execute: (task, ctl) =>
      runManagedTask(deps(), fromV1(task), {
        signal: ctl.signal,
        onSpawn: (pid) => ctl.onSpawn?.(pid, processStartTime(pid)),
        onProgress: (p) => ctl.onProgress(p),
        onEvent: (e) => {
          const { level, stream, text } = eventLine(e);
          ctl.onLog({ level, src: `restic.${stream}`, msg: text });
        },
      }),
    findSnapshotForTask: (task) => snapshotByTag(deps(), fromV1(task).access, `task=${task.taskId}`),
    killOrphan,
  };
}

/** The restic-monitor dialect's executor over the agent core. */
export function restMonitorExecutor(deps: () => TrackerDeps): RmTaskExecutor {
  return {
    execute: (task, ctl) =>
      runManagedTask(deps(), fromRestMonitor(task), {
        signal: ctl.signal,
        onProgress: (p) => ctl.onProgress(p),
        onEvent: (e) => {
          const { stream, text } = eventLine(e);
          ctl.onLog({ time: new Date().toISOString(), stream, text });
        },
      }),
    findSnapshotForTask: (task) => snapshotByTag(deps(), task.access, task.reconcileTag),
  };
}
