import type { RunningInfo } from '../../../shared/model/status.js';
import { formatBytes, formatDuration } from './format.js';

/** A running backup or restore: bar with percentage, ETA, bytes and the current file. */
export function RunProgress({ run, label }: { readonly run: RunningInfo; readonly label: string }) {
  const p = run.progress;
  const percent = Math.round(p?.percent ?? 0);
  return (
    <div className="run-progress" aria-live="polite">
      <div className="run-progress-head">
        <strong>{label}</strong>
        <span>{p ? `${percent}%${p.etaSeconds !== null ? ` · ${formatDuration(p.etaSeconds)} left` : ''}` : 'starting…'}</span>
      </div>
      <div className="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <div className="bar-fill" style={{ width: `${percent}%` }} />
      </div>
      {p && (
        <div className="muted small">
          {formatBytes(p.bytesDone)} of {formatBytes(p.totalBytes)} · {p.filesDone} of {p.totalFiles} files
          {p.errorCount > 0 ? ` · ${p.errorCount} unreadable` : ''}
        </div>
      )}
      {p && p.currentFiles.length > 0 && (
        <div className="current-file small" title={p.currentFiles[0]}>
          {p.currentFiles[0]}
        </div>
      )}
    </div>
  );
}
