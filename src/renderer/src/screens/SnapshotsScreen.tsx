import { useEffect, useMemo, useState } from 'react';
import { RunProgress } from '../components/ProgressBar.js';
import { formatBytes, formatTime } from '../components/format.js';
import { useApp, useStores } from '../stores/index.js';

/** A plugin source's snapshot (its `plugin:<kind>` and `source:<name>` tags), and where it can be restored. */
function pluginOf(tags: ReadonlyArray<string>): { source: string; kinds: ReadonlyArray<'database' | 'volume' | 'file'> } | null {
  const kind = tags.find((t) => t.startsWith('plugin:'))?.slice(7);
  const name = tags.find((t) => t.startsWith('source:'))?.slice(7);
  if (!kind || !name) return null;
  const into = kind === 'docker' ? (['volume'] as const) : ['postgres', 'mysql', 'mongodb'].includes(kind) ? (['database'] as const) : [];
  return { source: `${kind}:${name}`, kinds: [...into, 'file'] };
}

const INTO_LABEL = { database: 'a new database', volume: 'a new Docker volume', file: 'a new file' } as const;

/**
 * Snapshot list per repository; restore a whole snapshot or one path into a folder, or a plugin source's dump into
 * a new database, volume or file, with progress.
 */
export function SnapshotsScreen() {
  const status = useApp('status', (s) => s.status);
  const snapshots = useApp('snapshots', (s) => s.snapshots);
  const loading = useApp('snapshots', (s) => s.loading);
  const error = useApp('snapshots', (s) => s.error);
  const restoreRunId = useApp('snapshots', (s) => s.restoreRunId);
  const history = useApp('status', (s) => s.history);
  const store = useStores().snapshots;
  const repositories = useMemo(() => [...new Set(status?.sources.map((s) => s.repository) ?? [])], [status?.sources]);
  const [repository, setRepository] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [include, setInclude] = useState('');
  const [target, setTarget] = useState('');
  const [intoKind, setIntoKind] = useState<'database' | 'volume' | 'file' | null>(null);
  const [intoName, setIntoName] = useState('');
  const repo = repository ?? repositories[0] ?? null;

  useEffect(() => {
    void store.getState().load(repo);
  }, [store, repo]);

  const running = status?.running.find((r) => r.runId === restoreRunId);
  const finished = history.find((r) => r.id === restoreRunId && r.endedAt);
  const chosen = snapshots.find((s) => s.id === selected);
  const plugin = chosen ? pluginOf(chosen.tags) : null;
  const kind = plugin ? (intoKind && plugin.kinds.includes(intoKind) ? intoKind : plugin.kinds[0]) : null;

  return (
    <section aria-labelledby="snapshots-title">
      <header className="page-head">
        <h1 id="snapshots-title">Snapshots</h1>
        <div className="actions">
          {repositories.length > 1 && (
            <label>
              Repository{' '}
              <select value={repo ?? ''} onChange={(e) => setRepository(e.target.value)}>
                {repositories.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
          )}
          <button type="button" onClick={() => void store.getState().load(repo)} disabled={loading}>
            Refresh
          </button>
        </div>
      </header>
      {error && (
        <p role="alert" className="banner error">
          {error}
        </p>
      )}
      {loading && <p role="status">Loading snapshots…</p>}
      {!loading && snapshots.length === 0 && !error && <p className="muted">No snapshots yet. Run a backup first.</p>}
      {snapshots.length > 0 && (
        <table className="table selectable" aria-label="Snapshots">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">ID</th>
              <th scope="col">Host</th>
              <th scope="col">Paths</th>
              <th scope="col">Tags</th>
              <th scope="col">Size</th>
            </tr>
          </thead>
          <tbody>
            {snapshots.map((s) => (
              <tr key={s.id} aria-selected={selected === s.id} onClick={() => setSelected(s.id)}>
                <td>
                  <label className="radio">
                    <input
                      type="radio"
                      name="snapshot"
                      checked={selected === s.id}
                      onChange={() => setSelected(s.id)}
                      aria-label={`Snapshot ${s.shortId} from ${formatTime(s.time)}`}
                    />
                    {formatTime(s.time)}
                  </label>
                </td>
                <td className="mono">{s.shortId}</td>
                <td>{s.hostname}</td>
                <td>{s.paths.join(', ')}</td>
                <td>
                  {s.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </td>
                <td>{formatBytes(s.sizeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {chosen && plugin && kind && (
        <form
          className="panel"
          aria-label="Restore"
          onSubmit={(e) => {
            e.preventDefault();
            void store.getState().restore({ snapshotId: chosen.id, include: null, target: '', into: { source: plugin.source, kind, name: intoName } });
          }}
        >
          <h2>
            Restore {plugin.source} from snapshot {chosen.shortId}
          </h2>
          <div className="field">
            <label htmlFor="restore-into">Restore into</label>
            <select id="restore-into" value={kind} onChange={(e) => setIntoKind(e.target.value as typeof kind)}>
              {plugin.kinds.map((k) => (
                <option key={k} value={k}>
                  {INTO_LABEL[k]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="restore-name">{kind === 'file' ? 'New file' : kind === 'volume' ? 'New volume name' : 'New database name'}</label>
            <input id="restore-name" value={intoName} onChange={(e) => setIntoName(e.target.value)} required />
            <p className="help">A restore never overwrites: the {kind === 'file' ? 'file' : kind} must not exist yet.</p>
          </div>
          <button type="submit" className="primary">
            Restore
          </button>
        </form>
      )}
      {chosen && !plugin && (
        <form
          className="panel"
          aria-label="Restore"
          onSubmit={(e) => {
            e.preventDefault();
            void store.getState().restore({ snapshotId: chosen.id, include: include || null, target });
          }}
        >
          <h2>Restore snapshot {chosen.shortId}</h2>
          <div className="field">
            <label htmlFor="restore-include">Only this file or folder (optional)</label>
            <input id="restore-include" value={include} placeholder={chosen.paths[0] ?? '/'} onChange={(e) => setInclude(e.target.value)} />
            <p className="help">Leave empty to restore the whole snapshot.</p>
          </div>
          <div className="field">
            <label htmlFor="restore-target">Restore into folder</label>
            <input id="restore-target" value={target} placeholder="/home/me/restored" onChange={(e) => setTarget(e.target.value)} required />
            <p className="help">Files are written below this folder with their full original path; nothing is overwritten outside it.</p>
          </div>
          <button type="submit" className="primary">
            Restore
          </button>
        </form>
      )}
      {running && <RunProgress run={running} label="Restoring" />}
      {finished && (
        <p role="status" className={`banner ${finished.outcome === 'success' ? 'ok' : 'error'}`}>
          Restore {finished.outcome === 'success' ? 'finished' : `ended: ${finished.outcome ?? ''}`}. {finished.message}
        </p>
      )}
    </section>
  );
}
