/** What a restic operation run by the agent was for. */
export type RunKind = 'backup' | 'check' | 'forget' | 'prune' | 'restore' | 'init' | 'unlock';

/** Why a run started. */
export type RunTrigger = 'schedule' | 'catch-up' | 'manual' | 'task' | 'retry';

/**
 * How a run ended, derived from restic's exit code first and its stderr second (docs/spec/restic-cli.md §3).
 *
 * `partial` = backup exit 3: a snapshot WAS made but some files could not be read.
 */
export type RunOutcome =
  'success' | 'partial' | 'no-repo' | 'locked' | 'wrong-password' | 'cancelled' | 'timeout' | 'stalled' | 'killed' | 'crash' | 'config-error' | 'failed';

/** True when the run left a snapshot (or did its job): `success`, or a backup's `partial`. */
export function succeeded(outcome: RunOutcome | null): boolean {
  return outcome === 'success' || outcome === 'partial';
}

/** True when the run failed: anything but a success, a partial backup or a cancel (null = still running). */
export function isFailure(outcome: RunOutcome | null): boolean {
  return outcome !== null && !succeeded(outcome) && outcome !== 'cancelled';
}

/** How an outcome is shown and logged: good, worth a look (partial, cancelled), or bad. */
export function outcomeTone(outcome: RunOutcome): 'ok' | 'warn' | 'bad' {
  return outcome === 'success' ? 'ok' : isFailure(outcome) ? 'bad' : 'warn';
}

/** Live progress of a running backup or restore (numbers default to 0 when restic omits them). */
export interface Progress {
  readonly percent: number; // 0..100, clamped
  readonly bytesDone: number;
  readonly totalBytes: number;
  readonly filesDone: number;
  readonly totalFiles: number;
  readonly errorCount: number;
  readonly etaSeconds: number | null; // null when unknown (restic omits it, or sends 2^63 on ≤0.15)
  readonly elapsedSeconds: number;
  readonly currentFiles: ReadonlyArray<string>;
}

/** Totals of a finished backup, from restic's `summary` line. */
export interface BackupStats {
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  readonly dirsNew: number;
  readonly dirsChanged: number;
  readonly dirsUnmodified: number;
  readonly dataAdded: number;
  readonly dataAddedPacked: number | null;
  readonly totalFilesProcessed: number;
  readonly totalBytesProcessed: number;
  readonly totalDurationSeconds: number;
}

/** One file restic could not read (a per-item error line). */
export interface FileError {
  readonly item: string;
  readonly during: string;
  readonly message: string;
}

/** A run as kept in the local history. Times are ISO 8601 strings. */
export interface RunRecord {
  readonly id: string;
  readonly kind: RunKind;
  readonly trigger: RunTrigger;
  readonly repository: string; // repository name from the config
  readonly source: string | null; // source path for backups
  readonly policy: string | null;
  readonly taskId: string | null; // orchestrator task, when managed
  readonly startedAt: string;
  readonly endedAt: string | null; // null while running
  readonly outcome: RunOutcome | null; // null while running
  readonly message: string | null; // human-readable result line
  readonly snapshotId: string | null;
  readonly stats: BackupStats | null;
  readonly fileErrors: ReadonlyArray<FileError>;
  readonly exitCode: number | null;
}
