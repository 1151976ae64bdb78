import { useEffect, useState } from 'react';
import type { DesktopSettings } from '../../../shared/agent-api.js';
import { useApp, useStores } from '../stores/index.js';

type Path = ReadonlyArray<string | number>;

/** Desktop preferences and the agent's configuration (fields for the common keys, YAML for the rest). */
export function SettingsScreen() {
  const store = useStores().settings;
  const desktop = useApp('settings', (s) => s.desktop);
  const yaml = useApp('settings', (s) => s.yaml);
  const dirty = useApp('settings', (s) => s.dirty);
  const errors = useApp('settings', (s) => s.errors);
  const message = useApp('settings', (s) => s.message);
  const configPath = useApp('settings', (s) => s.configPath);
  const [advanced, setAdvanced] = useState(false);

  useEffect(() => {
    void store.getState().load();
  }, [store]);

  const get = (path: Path): unknown => store.getState().getValue(path);
  const sources = (get(['backup', 'sources']) as Array<{ path?: string }> | undefined) ?? [];
  const repoPath: Path =
    get(['repository']) !== undefined
      ? ['repository']
      : ['repositories', Object.keys((get(['repositories']) as object | undefined) ?? { default: 1 })[0] ?? 'default'];
  const policyNames = Object.keys((get(['policies']) as object | undefined) ?? {});

  return (
    <section aria-labelledby="settings-title">
      <header className="page-head">
        <h1 id="settings-title">Settings</h1>
        <div className="actions">
          <button type="button" className="primary" disabled={!dirty} onClick={() => void store.getState().save()}>
            Validate and save
          </button>
        </div>
      </header>
      {message && (
        <p role={errors.length > 0 ? 'alert' : 'status'} className={`banner ${errors.length > 0 ? 'error' : 'ok'}`}>
          {message}
        </p>
      )}
      {errors.length > 0 && (
        <ul className="errors" aria-label="Problems">
          {errors.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}

      <fieldset className="panel">
        <legend>This computer</legend>
        {desktop &&
          (
            [
              ['autoStart', 'Start at login (in the tray, without opening this window)'],
              ['notifyOnFailure', 'Notify me when a backup fails'],
              ['notifyOnOverdue', 'Notify me when a backup is overdue'],
              ['notifyOnSuccess', 'Notify me after every successful backup'],
            ] as ReadonlyArray<[keyof DesktopSettings, string]>
          ).map(([key, label]) => (
            <label key={key} className="check">
              <input type="checkbox" checked={desktop[key]} onChange={(e) => void store.getState().setDesktop({ [key]: e.target.checked })} />
              {label}
            </label>
          ))}
      </fieldset>

      <fieldset className="panel">
        <legend>Folders and excludes</legend>
        {sources.map((s, i) => (
          <div className="row" key={i}>
            <TextField label={`Folder ${i + 1}`} path={['backup', 'sources', i, 'path']} />
            <ListField label="Excludes for this folder" path={['backup', 'sources', i, 'exclude']} />
            <TextField label="Schedule policy" path={['backup', 'sources', i, 'policy']} help="hourly, daily, weekly or one of your policies" />
            <button
              type="button"
              className="link"
              onClick={() =>
                store.getState().setValue(
                  ['backup', 'sources'],
                  sources.filter((_, j) => j !== i),
                )
              }
              aria-label={`Remove folder ${s.path ?? i + 1}`}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" onClick={() => store.getState().setValue(['backup', 'sources'], [...sources, { path: '/' }])}>
          Add folder
        </button>
        <ListField label="Excludes for every folder" path={['backup', 'exclude']} />
      </fieldset>

      <fieldset className="panel">
        <legend>Schedules, retention and throttling</legend>
        {policyNames.length === 0 && (
          <p className="muted small">Using the built-in hourly / daily / weekly policies. Add a policy in the YAML below to customise one.</p>
        )}
        {policyNames.map((name) => (
          <div key={name} className="subpanel">
            <h3>{name}</h3>
            <div className="grid">
              <TextField label="Schedule" path={['policies', name, 'schedule']} help='cron ("0 2 * * *") or "every 6h"' />
              <NumberField label="Keep daily" path={['policies', name, 'retention', 'keep_daily']} />
              <NumberField label="Keep weekly" path={['policies', name, 'retention', 'keep_weekly']} />
              <NumberField label="Keep monthly" path={['policies', name, 'retention', 'keep_monthly']} />
              <TextField label="Upload limit" path={['policies', name, 'throttle', 'limit_upload']} help='e.g. "2MiB/s"; empty = unlimited' />
              <TextField label="Download limit" path={['policies', name, 'throttle', 'limit_download']} help='e.g. "10MiB/s"' />
            </div>
          </div>
        ))}
      </fieldset>

      <fieldset className="panel">
        <legend>Repository and orchestrator</legend>
        <TextField label="Repository location" path={[...repoPath, 'url']} help="restic repository string" />
        <TextField label="Orchestrator URL" path={['orchestrator', 'url']} help="empty = standalone" />
      </fieldset>

      <fieldset className="panel">
        <legend>Configuration file</legend>
        <p className="muted small">
          {configPath} ·{' '}
          <button type="button" className="link" onClick={() => setAdvanced(!advanced)} aria-expanded={advanced}>
            {advanced ? 'Hide' : 'Edit as YAML'}
          </button>
        </p>
        {advanced && (
          <textarea
            aria-label="Configuration YAML"
            className="yaml"
            spellCheck={false}
            value={yaml}
            onChange={(e) => store.getState().setYaml(e.target.value)}
            rows={18}
          />
        )}
      </fieldset>
    </section>
  );
}

function useValue(path: Path): [unknown, (v: unknown) => void] {
  const store = useStores().settings;
  useApp('settings', (s) => s.yaml); // re-render when the document changes
  return [store.getState().getValue(path), (v) => store.getState().setValue(path, v)];
}

function fieldId(path: Path): string {
  return 'f-' + path.join('-').replace(/[^A-Za-z0-9-]/g, '_');
}

function TextField({ label, path, help }: { label: string; path: Path; help?: string }) {
  const [value, setValue] = useValue(path);
  const id = fieldId(path);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} value={value === undefined || value === null ? '' : String(value)} onChange={(e) => setValue(e.target.value)} />
      {help && <p className="help">{help}</p>}
    </div>
  );
}

function NumberField({ label, path }: { label: string; path: Path }) {
  const [value, setValue] = useValue(path);
  const id = fieldId(path);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        min={0}
        value={typeof value === 'number' ? value : ''}
        onChange={(e) => setValue(e.target.value === '' ? null : Number(e.target.value))}
      />
    </div>
  );
}

function ListField({ label, path }: { label: string; path: Path }) {
  const [value, setValue] = useValue(path);
  const id = fieldId(path);
  // A local draft keeps empty lines while typing; the YAML gets only the non-empty patterns.
  const [draft, setDraft] = useState(Array.isArray(value) ? value.join('\n') : '');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        rows={3}
        value={draft}
        onChange={(e) => {
          setDraft(e.target.value);
          setValue(
            e.target.value
              .split('\n')
              .map((l) => l.trim())
              .filter(Boolean),
          );
        }}
      />
      <p className="help">One pattern per line (restic --exclude syntax).</p>
    </div>
  );
}
