import type { BackupStats, FileError, Progress } from '../../../shared/model/run.js';

/**
 * Typed view of one JSON line of `backup --json` / `restore --json` (stdout or stderr), normalised across
 * restic 0.14–0.19 (docs/spec/restic-cli.md §4.1, §4.11, §10).
 */
export type JsonEvent =
  | { readonly kind: 'progress'; readonly progress: Progress }
  | { readonly kind: 'scan-finished'; readonly totalFiles: number; readonly totalBytes: number }
  | { readonly kind: 'verbose'; readonly action: string; readonly item: string }
  | { readonly kind: 'file-error'; readonly error: FileError }
  | { readonly kind: 'summary'; readonly summary: BackupSummary }
  | { readonly kind: 'restore-summary'; readonly filesRestored: number; readonly bytesRestored: number }
  | { readonly kind: 'check-summary'; readonly numErrors: number; readonly brokenPacks: string[] }
  | { readonly kind: 'exit-error'; readonly code: number; readonly message: string }
  /** A per-item-less error (`check --json` ≥0.18: `{"message_type":"error","message":…}`). */
  | { readonly kind: 'message'; readonly level: 'error'; readonly message: string }
  | { readonly kind: 'other'; readonly messageType: string | null };

/** The backup `summary` line. */
export interface BackupSummary {
  readonly stats: BackupStats;
  /** 64 hex (≥0.15), 8 chars on 0.14, null when the snapshot was skipped (`--skip-if-unchanged`). */
  readonly snapshotId: string | null;
  readonly dryRun: boolean;
}

/** Anything above this is restic's 2^63 "unknown" ETA (≤0.15) or otherwise meaningless. */
const MAX_SANE_SECONDS = 1e10;

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function num(x: unknown): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}
function str(x: unknown): string {
  return typeof x === 'string' ? x : '';
}
function strings(x: unknown): string[] {
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
}

/** Names for the errno values restic ≤0.17.0 puts into `{"Op","Path","Err"}` errors (Linux numbering). */
const ERRNO: Readonly<Record<number, string>> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  5: 'input/output error',
  13: 'permission denied',
  20: 'not a directory',
  21: 'is a directory',
  24: 'too many open files',
  36: 'file name too long',
  40: 'too many levels of symbolic links',
};

/** Builds a readable message from the three shapes of `error` (`{message}`, `{Op,Path,Err}`, `{}`). */
export function fileErrorMessage(error: unknown, item: string): string {
  if (typeof error === 'string' && error) return error;
  if (isObj(error)) {
    if (typeof error.message === 'string' && error.message) return error.message;
    if (typeof error.Op === 'string' || typeof error.Err === 'number') {
      const errno = typeof error.Err === 'number' ? (ERRNO[error.Err] ?? `errno ${error.Err}`) : 'error';
      return `${str(error.Op) || 'access'} ${str(error.Path) || item}: ${errno}`;
    }
  }
  return `${item || 'item'}: could not be read (restic gave no details)`;
}

/** Converts a backup or restore `status` line into Progress. */
export function toProgress(o: Obj): Progress {
  const pct = num(o.percent_done) * 100;
  const eta = o.seconds_remaining;
  const restore = 'files_restored' in o || 'bytes_restored' in o;
  return {
    percent: Math.min(100, Math.max(0, pct)),
    bytesDone: num(restore ? o.bytes_restored : o.bytes_done),
    totalBytes: num(o.total_bytes),
    filesDone: num(restore ? o.files_restored : o.files_done),
    totalFiles: num(o.total_files),
    errorCount: num(o.error_count),
    etaSeconds: typeof eta === 'number' && eta >= 0 && eta < MAX_SANE_SECONDS ? eta : null,
    elapsedSeconds: num(o.seconds_elapsed),
    currentFiles: strings(o.current_files),
  };
}

/** Converts a backup `summary` line. */
export function toSummary(o: Obj): BackupSummary {
  const dur = num(o.total_duration);
  return {
    stats: {
      filesNew: num(o.files_new),
      filesChanged: num(o.files_changed),
      filesUnmodified: num(o.files_unmodified),
      dirsNew: num(o.dirs_new),
      dirsChanged: num(o.dirs_changed),
      dirsUnmodified: num(o.dirs_unmodified),
      dataAdded: num(o.data_added),
      dataAddedPacked: typeof o.data_added_packed === 'number' ? o.data_added_packed : null,
      totalFilesProcessed: num(o.total_files_processed),
      totalBytesProcessed: num(o.total_bytes_processed),
      // 0.18.0–0.18.1 skip-if-unchanged bug: a hugely negative duration.
      totalDurationSeconds: dur < 0 ? 0 : dur,
    },
    snapshotId: typeof o.snapshot_id === 'string' && o.snapshot_id ? o.snapshot_id : null,
    dryRun: o.dry_run === true,
  };
}

/** Classifies one parsed JSON line of a JSON-lines command. */
export function parseJsonEvent(obj: unknown): JsonEvent {
  if (!isObj(obj)) return { kind: 'other', messageType: null };
  const type = typeof obj.message_type === 'string' ? obj.message_type : null;
  switch (type) {
    case 'status':
      // ≤0.15 bug: scan_finished arrives as message_type "status" with an action.
      if (obj.action === 'scan_finished') return scanFinished(obj);
      return { kind: 'progress', progress: toProgress(obj) };
    case 'verbose_status':
      if (obj.action === 'scan_finished') return scanFinished(obj);
      return { kind: 'verbose', action: str(obj.action), item: str(obj.item) };
    case 'error': {
      if (!('item' in obj) && !('during' in obj)) {
        return { kind: 'message', level: 'error', message: fileErrorMessage(obj.error ?? obj.message, '') };
      }
      const item = str(obj.item);
      return { kind: 'file-error', error: { item, during: str(obj.during) || 'unknown', message: fileErrorMessage(obj.error, item) } };
    }
    case 'summary':
      if ('num_errors' in obj) return { kind: 'check-summary', numErrors: num(obj.num_errors), brokenPacks: strings(obj.broken_packs) };
      if ('files_restored' in obj || ('total_files' in obj && !('files_new' in obj))) {
        return { kind: 'restore-summary', filesRestored: num(obj.files_restored), bytesRestored: num(obj.bytes_restored) };
      }
      return { kind: 'summary', summary: toSummary(obj) };
    case 'exit_error':
      return { kind: 'exit-error', code: num(obj.code), message: str(obj.message) };
    default:
      return { kind: 'other', messageType: type };
  }
}

function scanFinished(o: Obj): JsonEvent {
  return { kind: 'scan-finished', totalFiles: num(o.total_files), totalBytes: num(o.data_size) };
}
