import type { AgentState, AgentStatus } from '../../shared/model/status.js';
import { formatDuration } from '../../shared/format.js';

/** What the tray menu can ask the shell to do. */
export interface TrayActions {
  backupNow(source: string | null): void;
  cancel(runId: string | null): void;
  /** Pause until the given ISO time. */
  pause(untilIso: string): void;
  resume(): void;
  checkNow(): void;
  openWindow(): void;
  /** Restart into a downloaded update (deferred while a backup runs). */
  restartToUpdate?(): void;
  quit(): void;
}

/** A downloaded app update, as the tray shows it. */
export interface TrayUpdate {
  readonly ready: string | null;
  readonly waitingForBackup: boolean;
}

/** The subset of Electron's `MenuItemConstructorOptions` the tray uses (plain data, easy to assert on). */
export interface TrayMenuItem {
  readonly id?: string;
  readonly label?: string;
  readonly type?: 'normal' | 'separator' | 'submenu';
  readonly enabled?: boolean;
  readonly click?: () => void;
  readonly submenu?: ReadonlyArray<TrayMenuItem>;
}

const SEPARATOR: TrayMenuItem = { type: 'separator' };

/**
 * The tray menu as a pure function of the agent's status and the current time.
 *
 * Status line; Back up now (a submenu per source when there are several); Cancel while running; Pause 1 h /
 * until tomorrow, or Resume while paused; Check now; Open window; Quit.
 */
export function trayMenuTemplate(status: AgentStatus, actions: TrayActions, now: Date, update: TrayUpdate | null = null): TrayMenuItem[] {
  const items: TrayMenuItem[] = [{ id: 'status', label: statusLine(status, now), enabled: false }, SEPARATOR];
  if (status.state === 'needs-setup') {
    items.push({ id: 'setup', label: 'Set up backups…', click: () => actions.openWindow() }, SEPARATOR);
    items.push({ id: 'quit', label: 'Quit', click: () => actions.quit() });
    return items;
  }
  const paused = status.state === 'paused';
  const running = status.running.length > 0;
  items.push(backupItem(status, actions, paused));
  if (running) {
    items.push(
      status.running.length === 1
        ? { id: 'cancel', label: 'Cancel running backup', click: () => actions.cancel(status.running[0]?.runId ?? null) }
        : {
            id: 'cancel',
            label: 'Cancel',
            type: 'submenu',
            submenu: [
              ...status.running.map((r) => ({ id: `cancel:${r.runId}`, label: `${r.kind} ${r.source ?? r.repository}`, click: () => actions.cancel(r.runId) })),
              { id: 'cancel:all', label: 'Cancel all', click: () => actions.cancel(null) },
            ],
          },
    );
  }
  items.push({ id: 'check', label: 'Check repository now', enabled: !paused, click: () => actions.checkNow() }, SEPARATOR);
  if (paused) {
    items.push({ id: 'resume', label: 'Resume backups', click: () => actions.resume() });
  } else {
    items.push(
      { id: 'pause-1h', label: 'Pause for 1 hour', click: () => actions.pause(new Date(now.getTime() + 3_600_000).toISOString()) },
      { id: 'pause-tomorrow', label: 'Pause until tomorrow', click: () => actions.pause(startOfTomorrow(now).toISOString()) },
    );
  }
  items.push(SEPARATOR, { id: 'open', label: 'Open Restic Monitor Agent', click: () => actions.openWindow() });
  if (update?.ready) {
    items.push(
      update.waitingForBackup
        ? { id: 'restart-to-update', label: `Restarts to update to ${update.ready} after the backup`, enabled: false }
        : { id: 'restart-to-update', label: `Restart to update to ${update.ready}`, click: () => actions.restartToUpdate?.() },
    );
  }
  items.push({ id: 'quit', label: 'Quit', click: () => actions.quit() });
  return items;
}

function backupItem(status: AgentStatus, actions: TrayActions, paused: boolean): TrayMenuItem {
  const sources = status.sources;
  if (sources.length <= 1) {
    return { id: 'backup', label: 'Back up now', enabled: !paused && sources.length === 1, click: () => actions.backupNow(sources[0]?.path ?? null) };
  }
  return {
    id: 'backup',
    label: 'Back up now',
    type: 'submenu',
    enabled: !paused,
    submenu: [
      { id: 'backup:all', label: 'All folders', click: () => actions.backupNow(null) },
      SEPARATOR,
      ...sources.map((s) => ({ id: `backup:${s.path}`, label: s.path, click: () => actions.backupNow(s.path) })),
    ],
  };
}

/** The one-line summary shown at the top of the menu and (shortened) in the tooltip. */
export function statusLine(status: AgentStatus, now: Date): string {
  const run = status.running[0];
  if (run) {
    const p = run.progress;
    const what = run.kind === 'backup' ? `Backing up ${run.source ?? run.repository}` : `Running ${run.kind} on ${run.repository}`;
    if (!p) return `${what}…`;
    const eta = p.etaSeconds !== null ? `, ${formatDuration(p.etaSeconds)} left` : '';
    return `${what} (${Math.round(p.percent)}%${eta})`;
  }
  switch (status.state) {
    case 'needs-setup':
      return 'Not set up yet';
    case 'paused':
      return status.pausedUntil ? `Paused until ${formatClock(new Date(status.pausedUntil), now)}` : 'Paused';
    case 'error':
      return `Last run failed: ${status.lastError?.message ?? 'see the log'}`;
    case 'offline':
      return 'Orchestrator unreachable; backups continue locally';
    default: {
      const last = newestSuccess(status);
      return last ? `Up to date, last backup ${formatAgo(now.getTime() - last.getTime())}` : 'Idle, no backup yet';
    }
  }
}

/** Tooltip per state (platform tray tooltips are short). */
export function trayTooltip(status: AgentStatus, now: Date): string {
  return `Restic Monitor Agent: ${statusLine(status, now)}`;
}

/** The state shown by the icon: a running backup wins over everything but setup. */
export function iconState(status: AgentStatus): AgentState {
  if (status.state === 'needs-setup') return 'needs-setup';
  return status.running.length > 0 ? 'running' : status.state;
}

function newestSuccess(status: AgentStatus): Date | null {
  const times = status.sources
    .map((s) => s.lastSuccessAt)
    .filter((t): t is string => t !== null)
    .map((t) => new Date(t).getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : null;
}

function startOfTomorrow(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 0, 0);
}

function formatAgo(ms: number): string {
  if (ms < 60_000) return 'just now';
  if (ms < 86_400_000) return `${formatDuration(ms / 1000)} ago`;
  const days = Math.round(ms / 86_400_000);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}

function formatClock(t: Date, now: Date): string {
  const hhmm = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`;
  return t.toDateString() === now.toDateString() ? hhmm : `${t.toISOString().slice(0, 10)} ${hhmm}`;
}
