import type { AgentConfig } from '../config/types.js';
import { ownsSnapshot } from '../plugins/source-id.js';
import type { Logger } from '../log/logger.js';
import type { SnapshotRecord } from '../restic/restic.js';
import type { AgentAlert } from '../../../shared/model/alert.js';
import { StalenessWatchdog, type WatchedSource } from '../scheduler/staleness.js';
import type { AgentStateStore } from '../state/agent-state.js';
import type { RepositoryRegistry } from './repositories.js';

const LEVEL = { info: 'info', warning: 'warn', error: 'error' } as const;

/** Logs a scheduler or watchdog alert at the level its severity asks for. */
export function logAlert(log: Logger, alert: AgentAlert): void {
  log[LEVEL[alert.severity]](alert.message);
}

/** How often the repositories are read for the age of each source's newest snapshot. */
export const FRESHNESS_INTERVAL_MS = 60 * 60_000;

/** The sources the watchdog looks after, with their policy's `stale_after`. */
export function watchedSources(config: AgentConfig): WatchedSource[] {
  return config.sources.map((s) => ({ repository: s.repository, source: s.path, staleAfterMs: config.policies[s.policy]?.staleAfterMs ?? 0 }));
}

/**
 * The staleness watchdog over real repositories: one `restic snapshots --latest 1` per repository and round (the
 * newest snapshot of each host and path set: all hosts, so backups made elsewhere count), whatever the number of
 * sources. It runs at start-up and on its own slow timer; after a backup the summary updates the source instead.
 */
export function createFreshnessWatchdog(config: () => AgentConfig, repos: () => RepositoryRegistry, state: AgentStateStore, log: Logger): StalenessWatchdog {
  const round = new Map<string, { at: number; list: Promise<SnapshotRecord[]> }>();
  const snapshotsOf = (repository: string): Promise<SnapshotRecord[]> => {
    const hit = round.get(repository);
    if (hit && Date.now() - hit.at < 60_000) return hit.list;
    const list = repos()
      .get(repository)
      .then((r) => r.snapshots({ latest: 1 }, { signal: AbortSignal.timeout(300_000) }));
    round.set(repository, { at: Date.now(), list });
    return list;
  };
  const watchdog = new StalenessWatchdog(
    async (repository, source) => {
      const own = config().sources.find((s) => s.path === source && s.repository === repository);
      const times = (await snapshotsOf(repository)).filter((s) => (own ? ownsSnapshot(own, s) : s.paths.includes(source))).map((s) => Date.parse(s.time));
      return times.length ? new Date(Math.max(...times)) : null;
    },
    state,
    watchedSources(config()),
  );
  watchdog.on('alert', (a) => logAlert(log, a));
  return watchdog;
}
