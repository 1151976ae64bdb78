import { snapshotFilter } from '../plugins/source-id.js';
import type { RunRecord, RunTrigger } from '../../../shared/model/run.js';
import type { PolicyConfig, SourceConfig } from '../config/types.js';
import { trackRun, type TrackerDeps } from './run-tracker.js';

/**
 * `forget` (with `--prune` only when asked, or for a policy with `prune: after_backup`) for this agent's snapshots
 * of one source; otherwise pruning is the repository's own maintenance job.
 *
 * Only snapshots tagged `agent:<id>` of this host and path are considered, so a shared repository's other
 * snapshots are never touched.
 */
export async function forgetSource(
  deps: TrackerDeps,
  source: SourceConfig,
  policy: PolicyConfig & { retention: NonNullable<PolicyConfig['retention']> },
  opts: { trigger: RunTrigger; prune?: boolean; signal?: AbortSignal },
): Promise<RunRecord> {
  const { agent } = deps.config;
  const own = snapshotFilter(source);
  const { record } = await trackRun(
    deps,
    { kind: 'forget', trigger: opts.trigger, repository: source.repository, source: source.path, policy: policy.name, taskId: null },
    (restic, ctl) =>
      restic.forget(
        {
          retention: policy.retention,
          prune: (opts.prune ?? false) || policy.prune === 'after_backup',
          host: agent.hostname,
          tags: [`agent:${agent.id}`, ...(own.tags ?? [])],
          paths: own.paths,
        },
        ctl,
      ),
    { signal: opts.signal },
  );
  return record;
}

/** `forget` for every source of a repository whose policy has retention. */
export async function applyRetentionRecords(deps: TrackerDeps, repository: string, prune: boolean): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  for (const source of deps.config.sources.filter((s) => s.repository === repository)) {
    const policy = deps.config.policies[source.policy];
    if (policy?.retention) records.push(await forgetSource(deps, source, { ...policy, retention: policy.retention }, { trigger: 'manual', prune }));
  }
  if (records.length === 0) throw new Error(`No source of repository "${repository}" has a retention policy: add \`retention:\` to its policy`);
  return records;
}
