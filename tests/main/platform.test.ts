import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createAutoStart, desktopEntry, HIDDEN_FLAG } from '../../src/main/platform/auto-start.js';
import { ShellSettings } from '../../src/main/platform/desktop-settings.js';
import { Notifier, type Alert } from '../../src/main/platform/notifier.js';
import { createDesktopApi } from '../../src/main/desktop-api.js';
import type { DesktopSettings } from '../../src/shared/agent-api.js';
import type { AgentAlert } from '../../src/shared/model/alert.js';
import { tempDir } from '../helpers/tmp.js';
import { fakeAgentApi } from './fake-agent-api.js';
import { runRecord } from './status-fixtures.js';

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

describe("notifications (from the core's run-finished and alert events)", () => {
  const all: DesktopSettings = { autoStart: false, notifyOnSuccess: true, notifyOnFailure: true, notifyOnOverdue: true };
  const failed = (id: string) => runRecord({ id, source: '/a', outcome: 'wrong-password', message: 'wrong password' });
  const ok = (id: string) => runRecord({ id, source: '/a' });
  const alert = (kind: AgentAlert['kind']): AgentAlert => ({
    kind,
    severity: 'warning',
    repository: 'default',
    source: '/a',
    message: 'no snapshot for 2 d',
    at: 'x',
  });
  const notifier = (settings: () => DesktopSettings = () => all) => {
    const shown: Alert[] = [];
    return { shown, n: new Notifier((a) => shown.push(a), settings) };
  };

  it('one alert per problem, not per retry; again after a success cleared it', () => {
    const { shown, n } = notifier();
    for (const id of ['t1', 't2', 't3']) n.runFinished(failed(id));
    expect(shown.map((a) => a.key)).toEqual(['failure:/a']);
    expect(shown[0]?.body).toBe('wrong password');
    n.runFinished(ok('t4'));
    n.runFinished(failed('t5'));
    expect(shown.map((a) => a.key)).toEqual(['failure:/a', 'success:/a', 'failure:/a']);
  });

  it('a cancelled run neither alerts nor clears; a failed check names its repository', () => {
    const { shown, n } = notifier();
    n.runFinished(runRecord({ source: '/a', outcome: 'cancelled' }));
    expect(shown).toEqual([]);
    n.runFinished(runRecord({ kind: 'check', source: null, repository: 'nas', outcome: 'no-repo', message: 'repository does not exist' }));
    expect(shown.map((a) => [a.key, a.title])).toEqual([['failure:nas', 'Check of nas failed']]);
  });

  it("overdue and unreachable come from the core's alerts; retry-policy alerts add nothing to the failed run", () => {
    let settings = { ...all, notifyOnOverdue: false };
    const { shown, n } = notifier(() => settings);
    n.alert(alert('stale'));
    expect(shown).toEqual([]);
    settings = all;
    n.alert(alert('stale'));
    n.alert(alert('retries-exhausted'));
    n.alert({ ...alert('repository-unreachable'), source: null });
    expect(shown.map((a) => a.key)).toEqual(['overdue:/a', 'unreachable:default']);
  });

  it('respects notifyOnFailure and notifyOnSuccess', () => {
    let settings = { ...all, notifyOnFailure: false, notifyOnSuccess: false };
    const { shown, n } = notifier(() => settings);
    n.runFinished(failed('t1'));
    n.runFinished(ok('t2'));
    expect(shown).toEqual([]);
    settings = all;
    n.runFinished(ok('t3'));
    expect(shown.map((a) => a.key)).toEqual(['success:/a']);
  });
});

describe('desktop settings and API', () => {
  const autoStartFake = (enabled = false) => {
    const state = { enabled };
    return {
      state,
      isEnabled: vi.fn(async () => state.enabled),
      setEnabled: vi.fn(async (on: boolean) => void (state.enabled = on)),
    };
  };

  it('reads and writes through the core (the only store) and applies a changed auto-start to the OS', async () => {
    const auto = autoStartFake(true);
    const core = fakeAgentApi();
    const settings = await ShellSettings.load(core, auto);
    const api = createDesktopApi(core, settings);
    const next = await api.setSettings({ autoStart: false, notifyOnSuccess: true });
    expect(next).toEqual({ autoStart: false, notifyOnSuccess: true, notifyOnFailure: true, notifyOnOverdue: true });
    expect(core.setSettings).toHaveBeenCalledWith({ autoStart: false, notifyOnSuccess: true });
    expect(auto.setEnabled).toHaveBeenCalledWith(false);
    expect(settings.current).toEqual(next); // what the notifier reads, without I/O
    await expect(api.getSettings()).resolves.toEqual(next);
    expect(core.getSettings).toHaveBeenCalledTimes(2); // load + getSettings: never a second copy
    // A change that leaves auto-start alone does not touch the login item.
    await api.setSettings({ notifyOnFailure: false });
    expect(auto.setEnabled).toHaveBeenCalledTimes(1);
    await api.backupNow('/a');
    expect(core.backupNow).toHaveBeenCalledWith('/a');
  });

  it('saves nothing when the login item cannot be changed', async () => {
    const auto = { isEnabled: vi.fn(async () => false), setEnabled: vi.fn(async () => Promise.reject(new Error('permission denied'))) };
    const core = fakeAgentApi();
    await core.setSettings({ autoStart: false });
    const api = createDesktopApi(core, await ShellSettings.load(core, auto));
    await expect(api.setSettings({ autoStart: true })).rejects.toThrow('permission denied');
    expect((await core.getSettings()).autoStart).toBe(false);
  });

  it('at start, makes the login item match the stored setting in both directions', async () => {
    const core = fakeAgentApi();
    const on = autoStartFake(false);
    expect(await (await ShellSettings.load(core, on)).applyAutoStart()).toBe('enabled');
    expect(on.state.enabled).toBe(true);
    expect(await (await ShellSettings.load(core, on)).applyAutoStart()).toBe('unchanged');
    await core.setSettings({ autoStart: false });
    expect(await (await ShellSettings.load(core, on)).applyAutoStart()).toBe('disabled');
    expect(on.state.enabled).toBe(false);
  });

  it('managed setup goes to the core as it is, testing option included (the core enforces loopback-only http)', async () => {
    const core = fakeAgentApi();
    const api = createDesktopApi(core, await ShellSettings.load(core, autoStartFake()));
    const setup = { url: 'http://127.0.0.1:9', enrollmentToken: 't', caFile: null, insecureLoopback: true };
    await expect(api.setupManaged(setup)).resolves.toEqual({ ok: true });
    expect(core.setupManaged).toHaveBeenCalledWith(setup);
  });
});
