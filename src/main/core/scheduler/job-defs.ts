import { homedir } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig, AgentSection, PauseSection, PolicyConfig, ResticSection, RetryPolicy, RunConditions, Schedule } from '../config/types.js';

/** The parts of the agent config the scheduler reads (an `AgentConfig` fits). */
export type SchedulerConfig = Pick<AgentConfig, 'repositories' | 'sources' | 'policies'> & {
  readonly agent: Pick<AgentSection, 'id' | 'catchUpDelayMs'>;
  readonly restic: Pick<ResticSection, 'cacheDir'>;
  readonly pause: PauseSection;
};

/** One schedule the scheduler keeps: a source's backup, or a repository's check or prune (maintenance). */
export interface JobDef {
  /** Stable identity: `backup:<repository>:<source path>`, `check:<repository>` or `prune:<repository>`. */
  readonly key: string;
  readonly kind: 'backup' | 'check' | 'prune';
  readonly repository: string;
  readonly source: string | null;
  readonly policy: PolicyConfig | null;
  readonly schedule: Schedule;
  readonly jitterMs: number;
  /** null = no conditions (checks). */
  readonly conditions: RunConditions | null;
  readonly retry: RetryPolicy;
  readonly readDataSubset: string | null;
  /** Checks: read all data over this many runs (`n/N`, n from the run count); 0 = off. */
  readonly readDataCycle: number;
  /** Prunes: restic's `--max-unused` / `--max-repack-size`. */
  readonly maxUnused: string | null;
  readonly maxRepackSize: string | null;
}

/** Retries of scheduled checks (checks have no policy): a lock held by a backup is the usual cause. */
export const CHECK_RETRY: RetryPolicy = { maxAttempts: 3, initialDelayMs: 10 * 60_000, maxDelayMs: 60 * 60_000 };

const NO_MAINTENANCE = { readDataSubset: null, readDataCycle: 0, maxUnused: null, maxRepackSize: null } as const;

/** Builds the job list from the config; sources with an unknown policy are skipped (config validation reports them). */
export function jobsFromConfig(config: SchedulerConfig): JobDef[] {
  const jobs: JobDef[] = [];
  for (const s of config.sources) {
    const policy = config.policies[s.policy];
    if (!policy) continue;
    jobs.push({
      key: `backup:${s.repository}:${s.path}`,
      kind: 'backup',
      repository: s.repository,
      source: s.path,
      policy,
      schedule: policy.schedule,
      jitterMs: policy.jitterMs,
      conditions: policy.conditions,
      retry: policy.retry,
      ...NO_MAINTENANCE,
    });
  }
  for (const [name, repo] of Object.entries(config.repositories)) {
    const base = { repository: name, source: null, policy: null, retry: CHECK_RETRY };
    if (repo.check) {
      const c = repo.check;
      jobs.push({
        ...base,
        ...NO_MAINTENANCE,
        key: `check:${name}`,
        kind: 'check',
        schedule: c.schedule,
        jitterMs: c.jitterMs,
        conditions: c.conditions,
        readDataSubset: c.readDataSubset,
        readDataCycle: c.readDataSubset ? 0 : c.readDataCycle,
      });
    }
    if (repo.prune) {
      const p = repo.prune;
      jobs.push({
        ...base,
        ...NO_MAINTENANCE,
        key: `prune:${name}`,
        kind: 'prune',
        schedule: p.schedule,
        jitterMs: p.jitterMs,
        conditions: p.conditions,
        maxUnused: p.maxUnused,
        maxRepackSize: p.maxRepackSize,
      });
    }
  }
  return jobs;
}

/** What makes two definitions plan the same way (a config reload keeps plans of unchanged jobs). */
export function planSignature(def: JobDef): string {
  return JSON.stringify([def.schedule, def.jitterMs]);
}

/** restic's own default cache directory on this OS, used for `min_free_cache` when `restic.cache_dir` is unset. */
export function defaultResticCacheDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'restic');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'restic');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'restic');
}
