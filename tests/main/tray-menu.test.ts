import { describe, expect, it, vi } from 'vitest';
import { iconState, statusLine, trayMenuTemplate, type TrayActions, type TrayMenuItem } from '../../src/main/tray/tray-menu-template.js';
import { trayIconFile, TrayService } from '../../src/main/tray/tray-service.js';
import { idleStatus, running, source } from './status-fixtures.js';

const now = new Date(2026, 0, 1, 12, 0, 0);
function actions() {
  return {
    backupNow: vi.fn<(s: string | null) => void>(),
    cancel: vi.fn<(r: string | null) => void>(),
    pause: vi.fn<(u: string) => void>(),
    resume: vi.fn(),
    checkNow: vi.fn(),
    openWindow: vi.fn(),
    quit: vi.fn(),
  } satisfies TrayActions;
}
const ids = (items: ReadonlyArray<TrayMenuItem>): string[] => items.filter((i) => i.id).map((i) => i.id as string);
const find = (items: ReadonlyArray<TrayMenuItem>, id: string): TrayMenuItem => {
  const hit = items.find((i) => i.id === id);
  if (!hit) throw new Error(`no menu item ${id} in ${ids(items).join(',')}`);
  return hit;
};

describe('tray menu template', () => {
  it('idle with one source: status, Back up now, check, pause choices, open, quit; no cancel or resume', () => {
    const a = actions();
    const items = trayMenuTemplate(idleStatus(), a, now);
    expect(ids(items)).toEqual(['status', 'backup', 'check', 'pause-1h', 'pause-tomorrow', 'open', 'quit']);
    expect(find(items, 'status').enabled).toBe(false);
    find(items, 'backup').click?.();
    expect(a.backupNow).toHaveBeenCalledWith('/home/me/Documents');
  });

  it('offers Back up now per source when there are several', () => {
    const a = actions();
    const items = trayMenuTemplate(idleStatus({ sources: [source('/a'), source('/b')] }), a, now);
    const sub = find(items, 'backup').submenu ?? [];
    expect(ids(sub)).toEqual(['backup:all', 'backup:/a', 'backup:/b']);
    find(sub, 'backup:/b').click?.();
    find(sub, 'backup:all').click?.();
    expect(a.backupNow.mock.calls).toEqual([['/b'], [null]]);
  });

  it('shows Cancel and progress while running', () => {
    const a = actions();
    const items = trayMenuTemplate(idleStatus({ state: 'running', running: [running('run-7', 42.4)] }), a, now);
    expect(find(items, 'status').label).toBe('Backing up /home/me/Documents (42%, 5 min left)');
    find(items, 'cancel').click?.();
    expect(a.cancel).toHaveBeenCalledWith('run-7');
  });

  it('pause choices compute 1 h and tomorrow midnight; paused shows Resume and disables backup', () => {
    const a = actions();
    const items = trayMenuTemplate(idleStatus(), a, now);
    find(items, 'pause-1h').click?.();
    find(items, 'pause-tomorrow').click?.();
    expect(a.pause.mock.calls[0]?.[0]).toBe(new Date(2026, 0, 1, 13, 0, 0).toISOString());
    expect(a.pause.mock.calls[1]?.[0]).toBe(new Date(2026, 0, 2, 0, 0, 0).toISOString());

    const paused = trayMenuTemplate(idleStatus({ state: 'paused', pausedUntil: new Date(2026, 0, 1, 13, 0).toISOString() }), a, now);
    expect(ids(paused)).toContain('resume');
    expect(ids(paused)).not.toContain('pause-1h');
    expect(find(paused, 'backup').enabled).toBe(false);
    expect(find(paused, 'status').label).toBe('Paused until 13:00');
    find(paused, 'resume').click?.();
    expect(a.resume).toHaveBeenCalled();
  });

  it('needs-setup offers only setup and quit', () => {
    const a = actions();
    const items = trayMenuTemplate(idleStatus({ state: 'needs-setup', configured: false, sources: [] }), a, now);
    expect(ids(items)).toEqual(['status', 'setup', 'quit']);
    find(items, 'setup').click?.();
    expect(a.openWindow).toHaveBeenCalled();
  });

  it('status line per state', () => {
    const err = idleStatus({ state: 'error', lastError: { at: now.toISOString(), message: 'wrong password', outcome: 'wrong-password' } });
    expect(statusLine(err, now)).toBe('Last run failed: wrong password');
    expect(statusLine(idleStatus({ state: 'offline' }), now)).toMatch(/Orchestrator unreachable/);
    expect(statusLine(idleStatus(), now)).toBe('Idle, no backup yet');
    const done = idleStatus({ sources: [source('/a', { lastSuccessAt: new Date(now.getTime() - 5 * 60_000).toISOString() })] });
    expect(statusLine(done, now)).toBe('Up to date, last backup 5 min ago');
  });

  it('icon state: running wins, needs-setup wins over running', () => {
    expect(iconState(idleStatus({ running: [running()] }))).toBe('running');
    expect(iconState(idleStatus({ state: 'error' }))).toBe('error');
    expect(iconState(idleStatus({ state: 'needs-setup', running: [running()] }))).toBe('needs-setup');
    expect(trayIconFile('paused', 'darwin')).toBe('tray-pausedTemplate.png');
    expect(trayIconFile('paused', 'linux')).toBe('tray-paused.png');
  });
});

describe('TrayService', () => {
  function make() {
    const tray = { setImage: vi.fn(), setToolTip: vi.fn(), setContextMenu: vi.fn(), on: vi.fn(), destroy: vi.fn() };
    const createTray = vi.fn(() => tray);
    const service = new TrayService({
      createTray,
      buildMenu: (t) => ({ template: t }),
      loadImage: (p) => ({ p }),
      iconPath: (s) => `/icons/${s}.png`,
      actions: actions(),
      now: () => now,
    });
    return { service, tray, createTray };
  }

  it('creates the tray once and redraws only what changed', () => {
    const { service, tray, createTray } = make();
    service.setStatus(idleStatus());
    service.setStatus(idleStatus());
    expect(createTray).toHaveBeenCalledTimes(1);
    expect(createTray).toHaveBeenCalledWith({ p: '/icons/idle.png' });
    expect(tray.setContextMenu).toHaveBeenCalledTimes(1);
    expect(tray.setToolTip).toHaveBeenCalledTimes(1);
    service.setStatus(idleStatus({ state: 'error', lastError: { at: '', message: 'boom', outcome: 'failed' } }));
    expect(tray.setImage).toHaveBeenCalledWith({ p: '/icons/error.png' });
    expect(tray.setToolTip).toHaveBeenLastCalledWith('Restic Monitor Agent: Last run failed: boom');
    expect(tray.setContextMenu).toHaveBeenCalledTimes(2);
  });
});
