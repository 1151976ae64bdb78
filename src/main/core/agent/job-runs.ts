import { type RunOutcome, type RunRecord, type RunTrigger, succeeded } from '../../../shared/model/run.js';
import type { SourceConfig } from '../config/types.js';
import type { Job } from '../scheduler/events.js';
import { inSlot, trackRun, type TrackedRun, type TrackerDeps } from './run-tracker.js';
import type { BackupResult } from '../restic/restic.js';
import { withHooks } from './hooks.js';
import { backupPluginSource } from './plugin-backup.js';
import { forgetSource } from './retention.js';
import { jobRecord } from './status.js';

/** Tags on every snapshot the agent makes, so its own snapshots can be found (retention, reconcile). */
export function snapshotTags(agentId: string, policy: string | null, extra: ReadonlyArray<string>, taskId?: string): string[] {
  return [`agent:${agentId}`, ...(policy ? [`policy:${policy}`] : []), ...(taskId ? [`task=${taskId}`] : []), ...extra];
}

/** A backup and the retention run that followed it (null when none was due or the backup failed). */
export interface BackupWithRetention {
  readonly backup: TrackedRun<BackupResult>;
  readonly retention: RunRecord | null;
}

/** Backs up one source, then applies its policy's retention when due. */
export async function backupSource(
  deps: TrackerDeps,
  source: SourceConfig,
  opts: { runId?: string; trigger: RunTrigger; retention: boolean; signal?: AbortSignal },
): Promise<BackupWithRetention> {
  const policy = deps.config.policies[source.policy];
  const throttle = policy?.throttle;
  const run = await trackRun(
    deps,
    {
      runId: opts.runId,
      kind: 'backup',
      trigger: opts.trigger,
      repository: source.repository,
      source: source.path,
      policy: source.policy,
      taskId: null,
      lowPriority: throttle?.lowPriority,
    },
    (restic, ctl) => {
      const common = {
        tags: snapshotTags(deps.config.agent.id, source.policy, source.tags),
        limitUploadKiBs: throttle?.limitUploadKiBs || undefined,
        limitDownloadKiBs: throttle?.limitDownloadKiBs || undefined,
        readConcurrency: throttle?.readConcurrency || undefined,
      };
      return withHooks(source, ctl, () =>
        source.plugin
          ? backupPluginSource(deps, source, restic, ctl, common)
          : restic.backup({ ...common, paths: [source.path], exclude: [...source.exclude] }, ctl),
      );
    },
    { signal: opts.signal },
  );
  const ok = succeeded(run.record.outcome);
  const retention =
    ok && opts.retention && policy?.retention
      ? await forgetSource(deps, source, { ...policy, retention: policy.retention }, { trigger: opts.trigger, signal: opts.signal })
      : null;
  return { backup: run, retention };
}

/** The scheduler's `JobRunner`: a backup (plus retention) of one source, or a check or prune of one repository. */
export function jobRunner(deps: () => TrackerDeps) {
  return async (job: Job, signal: AbortSignal): Promise<{ outcome: RunOutcome; message: string }> => {
    // The scheduler already holds this repository's queue slot: the backup and its retention run inside it.
    const d = { ...deps(), queue: inSlot };
    if (job.kind !== 'backup') {
      const { record } = await trackRun(
        d,
        { runId: job.id, kind: job.kind, trigger: job.trigger, repository: job.repository, source: null, policy: null, taskId: null },
        (restic, ctl) =>
          job.kind === 'check'
            ? restic.check({ readDataSubset: job.readDataSubset }, ctl)
            : restic.prune({ maxUnused: job.maxUnused, maxRepackSize: job.maxRepackSize }, ctl),
        { signal },
      );
      return { outcome: record.outcome ?? 'failed', message: record.message ?? '' };
    }
    const source = d.config.sources.find((s) => s.path === job.source && s.repository === job.repository);
    if (!source) return { outcome: 'config-error', message: `Source ${job.source ?? '?'} is no longer configured` };
    const { backup, retention } = await backupSource(d, source, { runId: job.id, trigger: job.trigger, retention: job.retention?.due ?? true, signal });
    // A job succeeds only when all its steps do: a failed retention fails the job.
    const record = jobRecord(backup.record, retention);
    return { outcome: record.outcome ?? 'failed', message: record.message ?? '' };
  };
}
