import { isFailure, type RunRecord, succeeded } from '../../../shared/model/run.js';
import type { AgentState, AgentStatus, RunningInfo, SourceHealth, SourceStatus } from '../../../shared/model/status.js';
import type { AgentConfig } from '../config/types.js';
import type { ScheduleStatus } from '../scheduler/schedule-status.js';
import type { RunHistory } from '../state/run-history.js';

/** Inputs of the status snapshot; everything else is derived. */
export interface StatusInputs {
  readonly config: AgentConfig;
  readonly history: RunHistory;
  readonly schedules: ReadonlyArray<ScheduleStatus>;
  readonly running: ReadonlyArray<RunningInfo>;
  readonly pausedUntil: number | null;
  readonly resticVersion: string | null;
  readonly secretBackend: string;
  readonly agentVersion: string;
  readonly snapshotAges: ReadonlyMap<string, number | null>;
  readonly health?: ReadonlyMap<string, SourceHealth>;
  readonly orchestrator: AgentStatus['orchestrator'];
  readonly credential?: AgentStatus['credential'];
}

/** Builds the status every UI draws: one state word, per-source last/next runs, the newest error. */
export function buildStatus(i: StatusInputs): AgentStatus {
  const sources: SourceStatus[] = i.config.sources.map((s) => {
    const schedule = i.schedules.find((x) => x.kind === 'backup' && x.source === s.path && x.repository === s.repository);
    const policy = i.config.policies[s.policy];
    const age = i.snapshotAges.get(`${s.repository}\0${s.path}`) ?? null;
    return {
      path: s.path,
      repository: s.repository,
      policy: s.policy,
      lastRun: lastJob(i.history, s.path),
      lastSuccessAt: i.history.lastSuccessFor(s.path)?.endedAt ?? null,
      nextRunAt: schedule?.nextRunAt ?? null,
      newestSnapshotAgeSeconds: age,
      stale: age !== null && !!policy?.staleAfterMs && age * 1000 > policy.staleAfterMs,
      health: i.health?.get(s.path) ?? null,
    };
  });
  const lastRuns = sources.map((s) => s.lastRun).filter((r): r is RunRecord => r !== null);
  const lastError = newestFailure(lastRuns);
  const paused = i.pausedUntil !== null && i.pausedUntil > Date.now();
  const state: AgentState =
    i.config.sources.length === 0 && !i.orchestrator
      ? 'needs-setup'
      : i.running.length > 0
        ? 'running'
        : paused
          ? 'paused'
          : i.orchestrator && !i.orchestrator.connected
            ? 'offline'
            : lastError
              ? 'error'
              : 'idle';
  return {
    state,
    mode: i.orchestrator ? 'managed' : 'standalone',
    configured: i.config.sources.length > 0 || i.orchestrator !== null,
    pausedUntil: paused ? new Date(i.pausedUntil!).toISOString() : null,
    running: i.running,
    sources,
    lastError,
    orchestrator: i.orchestrator,
    credential: i.credential ?? null,
    resticVersion: i.resticVersion,
    secretBackend: i.secretBackend,
    agentVersion: i.agentVersion,
  };
}

/**
 * The newest backup job of a source as one record: the backup, unless its retention step (`forget`) did not
 * succeed — then the job did not either, and the record says which step failed and how.
 */
function lastJob(history: RunHistory, source: string): RunRecord | null {
  const backup = history.lastFor(source);
  if (!backup || !succeeded(backup.outcome)) return backup;
  return jobRecord(backup, history.retentionAfter(source, backup.startedAt));
}

/** Combines a backup with the retention run that followed it (null: none). */
export function jobRecord(backup: RunRecord, retention: RunRecord | null): RunRecord {
  if (!retention || retention.outcome === 'success') return backup;
  if (retention.outcome === null) return { ...backup, outcome: null, endedAt: null, message: 'retention (forget) running' };
  const snap = backup.snapshotId ? ` (snapshot ${backup.snapshotId.slice(0, 8)} saved)` : '';
  return {
    ...backup,
    outcome: retention.outcome,
    endedAt: retention.endedAt,
    message: `backup ${backup.outcome}${snap}, but retention (forget) ${retention.outcome}: ${retention.message ?? ''}`,
  };
}

/** The newest failed run among each source's LAST run: a later success clears the error state. */
function newestFailure(lastRuns: ReadonlyArray<RunRecord>): AgentStatus['lastError'] {
  const failed = lastRuns.filter((r) => isFailure(r.outcome)).sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''))[0];
  return failed && failed.outcome ? { at: failed.endedAt ?? failed.startedAt, message: failed.message ?? failed.outcome, outcome: failed.outcome } : null;
}
