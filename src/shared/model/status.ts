import type { Progress, RunKind, RunOutcome, RunRecord } from './run.js';

/** The one word the tray icon shows. */
export type AgentState = 'idle' | 'running' | 'paused' | 'error' | 'offline' | 'needs-setup';

/** A run in progress, as shown in the tray and the status screen. */
export interface RunningInfo {
  readonly runId: string;
  readonly kind: RunKind;
  readonly repository: string;
  readonly source: string | null;
  readonly startedAt: string;
  readonly progress: Progress | null;
}

/** Per-source schedule state. */
export interface SourceStatus {
  readonly path: string;
  readonly repository: string;
  readonly policy: string;
  readonly lastRun: RunRecord | null;
  readonly lastSuccessAt: string | null;
  readonly nextRunAt: string | null;
  /** Age of the newest snapshot of this source in the repository (made by anyone), in seconds. */
  readonly newestSnapshotAgeSeconds: number | null;
  readonly stale: boolean;
  /** A plugin source's server, as last checked ("PostgreSQL 15.4, 3 databases"); null when it has no check. */
  readonly health?: SourceHealth | null;
}

export interface SourceHealth {
  readonly ok: boolean;
  /** What the server said, or why it could not be reached. */
  readonly line: string;
  readonly checkedAt: string;
}

/** Everything a UI needs to draw the agent's state; pushed on every change. */
export interface AgentStatus {
  readonly state: AgentState;
  readonly mode: 'standalone' | 'managed';
  readonly configured: boolean;
  readonly pausedUntil: string | null;
  readonly running: ReadonlyArray<RunningInfo>;
  readonly sources: ReadonlyArray<SourceStatus>;
  readonly lastError: { readonly at: string; readonly message: string; readonly outcome: RunOutcome } | null;
  readonly orchestrator: { readonly url: string; readonly connected: boolean; readonly lastContactAt: string | null } | null;
  /** The stored orchestrator credential: whose it is (dialect and URL) and when it last worked. */
  readonly credential?: { readonly orchestrator: string; readonly dialect: string | null; readonly lastWorkedAt: string | null } | null;
  readonly resticVersion: string | null;
  readonly secretBackend: string;
  readonly agentVersion: string;
}

/** `status` with one run's progress merged in (a run not listed yet is added): the tray and the window both use it. */
export function withRunProgress(status: AgentStatus, progress: RunningInfo): AgentStatus {
  const known = status.running.some((r) => r.runId === progress.runId);
  const running = known ? status.running.map((r) => (r.runId === progress.runId ? progress : r)) : [...status.running, progress];
  return { ...status, running };
}
