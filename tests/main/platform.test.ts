import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createAutoStart, desktopEntry, HIDDEN_FLAG } from '../../src/main/platform/auto-start.js';
import { DesktopSettingsStore } from '../../src/main/platform/desktop-settings.js';
import { Notifier, type Alert } from '../../src/main/platform/notifier.js';
import { createDesktopApi } from '../../src/main/desktop-api.js';
import type { DesktopSettings } from '../../src/shared/agent-api.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeAgentApi } from './fake-agent-api.js';
import { idleStatus, runRecord, source } from './status-fixtures.js';

function loginApp() {
  let settings = { openAtLogin: false };
  return {
    setLoginItemSettings: vi.fn((s: { openAtLogin: boolean }) => void (settings = { openAtLogin: s.openAtLogin })),
    getLoginItemSettings: vi.fn(() => settings),
  };
}

describe('auto-start', () => {
  it.each(['darwin', 'win32'] as const)('%s uses login items with the hidden flag', async (platform) => {
    const app = loginApp();
    const auto = createAutoStart({ platform, app, execPath: '/x', configHome: '/nonexistent' });
    expect(await auto.isEnabled()).toBe(false);
    await auto.setEnabled(true);
    expect(app.setLoginItemSettings).toHaveBeenLastCalledWith({ openAtLogin: true, openAsHidden: true, args: [HIDDEN_FLAG] });
    expect(await auto.isEnabled()).toBe(true);
    expect(app.getLoginItemSettings).toHaveBeenLastCalledWith({ args: [HIDDEN_FLAG] });
    await auto.setEnabled(false);
    expect(app.setLoginItemSettings).toHaveBeenLastCalledWith({ openAtLogin: false, openAsHidden: true, args: [HIDDEN_FLAG] });
  });

  it('linux writes and removes an XDG autostart .desktop file', async () => {
    const home = tempDir();
    const app = loginApp();
    const auto = createAutoStart({ platform: 'linux', app, execPath: '/opt/Restic Agent/restic-agent', configHome: home });
    const file = join(home, 'autostart', 'restic-monitor-agent.desktop');
    expect(await auto.isEnabled()).toBe(false);
    await auto.setEnabled(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\[Desktop Entry\]\nType=Application\n/);
    expect(text).toContain('Exec="/opt/Restic Agent/restic-agent" --hidden\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(await auto.isEnabled()).toBe(true);
    await auto.setEnabled(false);
    expect(existsSync(file)).toBe(false);
    expect(await auto.isEnabled()).toBe(false);
    expect(app.setLoginItemSettings).not.toHaveBeenCalled();
  });

  it('desktop entry quotes special characters in Exec', () => {
    expect(desktopEntry('/usr/bin/agent')).toContain('Exec=/usr/bin/agent --hidden');
    expect(desktopEntry('/a/$x"y')).toContain('Exec="/a/\\$x\\"y" --hidden');
  });
});

describe('notifications', () => {
  const all: DesktopSettings = { autoStart: false, notifyOnSuccess: true, notifyOnFailure: true, notifyOnOverdue: true };
  const failing = (at: string) =>
    idleStatus({ state: 'error', sources: [source('/a', { lastRun: runRecord({ outcome: 'wrong-password', message: 'wrong password', endedAt: at }) })] });

  it('one alert per problem, not per retry; again after it was fixed and came back', () => {
    const shown: Alert[] = [];
    const n = new Notifier((a) => shown.push(a), () => all);
    n.update(failing('t1'));
    n.update(failing('t2'));
    n.update(failing('t3'));
    expect(shown.map((a) => a.key)).toEqual(['failure:/a']);
    expect(shown[0]?.body).toBe('wrong password');
    n.update(idleStatus({ sources: [source('/a', { lastRun: runRecord(), lastSuccessAt: 't4' })] }));
    n.update(failing('t5'));
    expect(shown.map((a) => a.key)).toEqual(['failure:/a', 'success:/a', 'failure:/a']);
  });

  it('overdue alerts once; success only when enabled and not for the first status seen', () => {
    const shown: Alert[] = [];
    let settings = { ...all, notifyOnSuccess: false };
    const n = new Notifier((a) => shown.push(a), () => settings);
    n.update(idleStatus({ sources: [source('/a', { lastSuccessAt: 't0' })] }));
    n.update(idleStatus({ sources: [source('/a', { lastSuccessAt: 't1' })] }));
    expect(shown).toEqual([]);
    settings = all;
    n.update(idleStatus({ sources: [source('/a', { lastSuccessAt: 't2' })] }));
    expect(shown.map((a) => a.key)).toEqual(['success:/a']);
    n.update(idleStatus({ sources: [source('/a', { lastSuccessAt: 't2', stale: true })] }));
    n.update(idleStatus({ sources: [source('/a', { lastSuccessAt: 't2', stale: true })] }));
    expect(shown.map((a) => a.key)).toEqual(['success:/a', 'overdue:/a']);
  });

  it('respects notifyOnFailure=false and reports a global error once', () => {
    const shown: Alert[] = [];
    let settings = { ...all, notifyOnFailure: false };
    const n = new Notifier((a) => shown.push(a), () => settings);
    n.update(failing('t1'));
    expect(shown).toEqual([]);
    settings = all;
    const global = idleStatus({ state: 'error', lastError: { at: 'x', message: 'repository unreachable', outcome: 'no-repo' } });
    n.update(global);
    n.update(global);
    expect(shown.map((a) => a.key)).toEqual(['failure:agent:no-repo']);
  });
});

describe('desktop settings and API', () => {
  it('validates, falls back to defaults on damage, and applies auto-start through the shell', async () => {
    const map = new Map<string, unknown>([['desktop', { autoStart: 'yes please' }]]);
    const store = new DesktopSettingsStore({ get: (k) => map.get(k), set: (k, v) => void map.set(k, v) });
    expect(store.get().autoStart).toBe(true);
    const auto = { isEnabled: vi.fn(async () => false), setEnabled: vi.fn(async () => {}) };
    const core = fakeAgentApi();
    const api = createDesktopApi(core, store, auto);
    const next = await api.setSettings({ autoStart: false, notifyOnSuccess: true });
    expect(next).toEqual({ autoStart: false, notifyOnSuccess: true, notifyOnFailure: true, notifyOnOverdue: true });
    expect(auto.setEnabled).toHaveBeenCalledWith(false);
    expect(map.get('desktop')).toEqual(next);
    await expect(api.getSettings()).resolves.toEqual(next);
    expect(core.getSettings).not.toHaveBeenCalled();
    await api.backupNow('/a');
    expect(core.backupNow).toHaveBeenCalledWith('/a');
  });
});
