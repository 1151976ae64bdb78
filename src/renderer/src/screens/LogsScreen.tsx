import { useCallback, useState } from 'react';
import { VirtualList } from '../components/VirtualList.js';
import { useApp, useStores } from '../stores/index.js';
import type { LogEntry, LogLevel } from '../../../shared/model/log.js';

const LEVELS: ReadonlyArray<LogLevel> = ['debug', 'info', 'warn', 'error'];

/** The live log: virtualised, filtered by level and run, copy and export. */
export function LogsScreen() {
  const visible = useApp('logs', (s) => s.visible);
  const version = useApp('logs', (s) => s.version);
  const minLevel = useApp('logs', (s) => s.minLevel);
  const runId = useApp('logs', (s) => s.runId);
  const runIds = useApp('logs', (s) => s.runIds);
  const logs = useStores().logs;
  const [note, setNote] = useState<string | null>(null);

  const copy = useCallback(() => {
    navigator.clipboard.writeText(logs.getState().asText()).then(
      () => setNote(`Copied ${logs.getState().visible.length} lines.`),
      (e: unknown) => setNote(`Could not copy: ${e instanceof Error ? e.message : String(e)}`),
    );
  }, [logs]);
  const exportLog = useCallback(() => {
    const url = URL.createObjectURL(new Blob([logs.getState().asText() + '\n'], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `restic-agent-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.log`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, [logs]);
  const row = useCallback(
    (e: LogEntry) => (
      <span className={`log log-${e.level}`}>
        <span className="log-time">{e.time.slice(11, 23)}</span> <span className="log-level">{e.level.toUpperCase()}</span> {e.message}
      </span>
    ),
    [],
  );

  return (
    <section className="logs-page" aria-labelledby="logs-title">
      <header className="page-head">
        <h1 id="logs-title">Logs</h1>
        <div className="actions">
          <label>
            Level{' '}
            <select value={minLevel} onChange={(e) => logs.getState().setMinLevel(e.target.value as LogLevel)}>
              {LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l} and above
                </option>
              ))}
            </select>
          </label>
          <label>
            Run{' '}
            <select value={runId ?? ''} onChange={(e) => logs.getState().setRunId(e.target.value || null)}>
              <option value="">all runs</option>
              {runIds.map((id) => (
                <option key={id} value={id}>
                  {id.slice(0, 8)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={copy}>
            Copy
          </button>
          <button type="button" onClick={exportLog}>
            Export…
          </button>
        </div>
      </header>
      <p className="muted small" role="status" data-testid="log-count">
        {note ?? `${visible.length.toLocaleString()} lines`}
      </p>
      <VirtualList items={visible} version={version} rowHeight={22} renderRow={row} label="Log lines" />
    </section>
  );
}
