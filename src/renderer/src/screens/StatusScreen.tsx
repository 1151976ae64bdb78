import { RunProgress } from '../components/ProgressBar.js';
import { formatBytes, formatRelative, formatTime } from '../components/format.js';
import { useApp, useStores } from '../stores/index.js';
import type { AgentStatus } from '../../../shared/model/status.js';
import { outcomeTone } from '../../../shared/model/run.js';

const STATE_TEXT: Readonly<Record<AgentStatus['state'], string>> = {
  idle: 'All good',
  running: 'Working',
  paused: 'Paused',
  error: 'Needs attention',
  offline: 'Orchestrator unreachable',
  'needs-setup': 'Not set up',
};

/** Last backup, next run, progress of running runs, recent history, and the main actions. */
export function StatusScreen() {
  const status = useApp('status', (s) => s.status);
  const history = useApp('status', (s) => s.history);
  const error = useApp('status', (s) => s.error);
  const busy = useApp('status', (s) => s.busy);
  const actions = useStores().status.getState();
  if (!status) return null;
  const paused = status.state === 'paused';
  const lastSuccess =
    status.sources
      .map((s) => s.lastSuccessAt)
      .filter((t): t is string => !!t)
      .sort()
      .at(-1) ?? null;
  const nextRun =
    status.sources
      .map((s) => s.nextRunAt)
      .filter((t): t is string => !!t)
      .sort()[0] ?? null;

  return (
    <section aria-labelledby="status-title">
      <header className="page-head">
        <h1 id="status-title">Status</h1>
        <div className="actions">
          <button type="button" className="primary" disabled={busy || paused} onClick={() => void actions.backupNow(null)}>
            Back up now
          </button>
          {status.running.length > 0 && (
            <button type="button" disabled={busy} onClick={() => void actions.cancel(null)}>
              Cancel
            </button>
          )}
          {paused ? (
            <button type="button" disabled={busy} onClick={() => void actions.resume()}>
              Resume
            </button>
          ) : (
            <button type="button" disabled={busy} onClick={() => void actions.pause(new Date(Date.now() + 3_600_000).toISOString())}>
              Pause 1 hour
            </button>
          )}
          <button type="button" disabled={busy || paused} onClick={() => void actions.checkNow()}>
            Check repository
          </button>
        </div>
      </header>
      {error && (
        <p role="alert" className="banner error">
          {error}
        </p>
      )}
      <div className="cards">
        <div className={`card state-${status.state}`}>
          <div className="card-label">State</div>
          <div className="card-value" data-testid="agent-state">
            {STATE_TEXT[status.state]}
          </div>
          <div className="muted small">
            {paused && status.pausedUntil ? `until ${formatTime(status.pausedUntil)}` : status.mode === 'managed' ? 'managed by an orchestrator' : 'standalone'}
          </div>
        </div>
        <div className="card">
          <div className="card-label">Last backup</div>
          <div className="card-value">{formatRelative(lastSuccess)}</div>
          <div className="muted small">{formatTime(lastSuccess)}</div>
        </div>
        <div className="card">
          <div className="card-label">Next run</div>
          <div className="card-value">{paused ? 'paused' : nextRun ? formatRelative(nextRun) : '—'}</div>
          <div className="muted small">{formatTime(nextRun)}</div>
        </div>
      </div>
      {status.lastError && status.state === 'error' && (
        <p role="alert" className="banner error">
          Last run failed ({status.lastError.outcome}): {status.lastError.message}
        </p>
      )}
      {status.running.map((run) => (
        <RunProgress
          key={run.runId}
          run={run}
          label={run.kind === 'backup' ? `Backing up ${run.source ?? run.repository}` : `${run.kind} on ${run.repository}`}
        />
      ))}
      <h2>Folders</h2>
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Folder</th>
            <th scope="col">Schedule</th>
            <th scope="col">Last success</th>
            <th scope="col">Next run</th>
            <th scope="col" aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {status.sources.map((s) => (
            <tr key={s.path}>
              <td>
                {s.path}
                {s.stale && <span className="tag warn">overdue</span>}
              </td>
              <td>{s.policy}</td>
              <td>{formatRelative(s.lastSuccessAt)}</td>
              <td>{formatRelative(s.nextRunAt)}</td>
              <td>
                <button
                  type="button"
                  className="link"
                  disabled={busy || paused}
                  onClick={() => void actions.backupNow(s.path)}
                  aria-label={`Back up ${s.path} now`}
                >
                  Back up
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Recent runs</h2>
      {history.length === 0 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <table className="table" aria-label="Recent runs">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">What</th>
              <th scope="col">Result</th>
              <th scope="col">Added</th>
            </tr>
          </thead>
          <tbody>
            {history.map((r) => (
              <tr key={r.id}>
                <td>{formatTime(r.startedAt)}</td>
                <td>
                  {r.kind} {r.source ?? r.repository}
                </td>
                <td>
                  <span className={`tag ${r.outcome ? outcomeTone(r.outcome) : ''}`}>{r.outcome ?? 'running'}</span>{' '}
                  <span className="muted small">{r.message}</span>
                </td>
                <td>{formatBytes(r.stats?.dataAdded)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
