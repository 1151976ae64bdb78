import { useState } from 'react';
import { LogsScreen } from './screens/LogsScreen.js';
import { SettingsScreen } from './screens/SettingsScreen.js';
import { SnapshotsScreen } from './screens/SnapshotsScreen.js';
import { StatusScreen } from './screens/StatusScreen.js';
import { Wizard } from './screens/Wizard.js';
import { useApp } from './stores/index.js';

type Screen = 'status' | 'snapshots' | 'logs' | 'settings';
const SCREENS: ReadonlyArray<{ id: Screen; label: string }> = [
  { id: 'status', label: 'Status' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'logs', label: 'Logs' },
  { id: 'settings', label: 'Settings' },
];

/** The window: the first-run wizard until the agent is configured, then four screens. */
export function App() {
  const status = useApp('status', (s) => s.status);
  const loadError = useApp('status', (s) => (s.status ? null : s.error));
  const wizardStep = useApp('wizard', (s) => s.step);
  const [screen, setScreen] = useState<Screen>('status');

  if (!status) {
    return <main className="center">{loadError ? <p role="alert">{loadError}</p> : <p role="status">Connecting to the agent…</p>}</main>;
  }
  if (!status.configured || (wizardStep !== 'mode' && wizardStep !== 'done')) {
    return (
      <main className="wizard-page">
        <Wizard />
      </main>
    );
  }
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className={`dot dot-${status.running.length > 0 ? 'running' : status.state}`} aria-hidden="true" />
          Restic Monitor Agent
        </div>
        {SCREENS.map((s) => (
          <button key={s.id} type="button" className="nav-item" aria-current={screen === s.id ? 'page' : undefined} onClick={() => setScreen(s.id)}>
            {s.label}
          </button>
        ))}
        <div className="sidebar-foot muted small">
          agent {status.agentVersion}
          {status.resticVersion ? ` · restic ${/\d+\.\d+\.\d+/.exec(status.resticVersion)?.[0] ?? status.resticVersion}` : ''}
        </div>
      </nav>
      <main className="content">
        {screen === 'status' && <StatusScreen />}
        {screen === 'snapshots' && <SnapshotsScreen />}
        {screen === 'logs' && <LogsScreen />}
        {screen === 'settings' && <SettingsScreen />}
      </main>
    </div>
  );
}
