import type * as CoreModule from '../../src/main/core/index.js';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import type { fakeAgentApi } from './fake-agent-api.js';
import type { FakeIpcMain } from './fake-electron.js';

/** The fake Electron module `src/main/index.ts` gets, and the fake core `createAgentCore` returns. */
const world = vi.hoisted(() => ({
  powerMonitor: null as unknown as EventEmitter,
  core: null as unknown as ReturnType<typeof fakeAgentApi> & { wake: () => void },
}));

vi.mock('electron', async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  const { FakeIpcMain: Ipc } = await import('./fake-electron.js');
  world.powerMonitor = new Emitter();
  const app = Object.assign(new Emitter(), {
    isPackaged: true,
    requestSingleInstanceLock: () => true,
    whenReady: () => Promise.resolve(),
    quit: vi.fn(),
    exit: vi.fn(),
    setLoginItemSettings: vi.fn(),
    getLoginItemSettings: () => ({ openAtLogin: false }),
  });
  class Tray extends Emitter {
    setImage(): void {}
    setToolTip(): void {}
    setContextMenu(): void {}
  }
  const session = { defaultSession: { setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, webRequest: { onHeadersReceived() {} } } };
  const m = {
    app,
    BrowserWindow: class {},
    ipcMain: new Ipc(),
    Menu: { buildFromTemplate: (t: unknown) => t },
    nativeImage: { createFromPath: () => ({}) },
    Notification: Object.assign(class {}, { isSupported: () => false }),
    powerMonitor: world.powerMonitor,
    session,
    shell: { openExternal: vi.fn() },
    Tray,
  };
  return { ...m, default: m };
});

vi.mock('../../src/main/core/index.js', async (importOriginal) => ({
  ...(await importOriginal<typeof CoreModule>()),
  createAgentCore: vi.fn(async () => {
    const { fakeAgentApi: make } = await import('./fake-agent-api.js');
    const { LogHub: Hub } = await import('../../src/main/core/log/logger.js');
    const core = Object.assign(make(), { wake: vi.fn(), on: vi.fn(() => () => {}), stop: vi.fn(async () => {}), logs: new Hub('info') });
    world.core = core;
    return core;
  }),
}));

const configHome = tempDir('rma-xdg-');
const saved = { argv: process.argv, xdg: process.env.XDG_CONFIG_HOME };
afterAll(() => {
  process.argv = saved.argv;
  if (saved.xdg === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = saved.xdg;
});

describe('the composition root (src/main/index.ts) with a fake Electron', () => {
  it("wakes the core on resume/unlock-screen and applies the core's auto-start setting", async () => {
    process.argv = [...process.argv, '--hidden'];
    process.env.XDG_CONFIG_HOME = configHome;
    await import('../../src/main/index.js');
    // start() runs after app.whenReady(): wait until it has wired the power monitor.
    await vi.waitFor(() => expect(world.powerMonitor.listenerCount('resume')).toBe(1));

    world.powerMonitor.emit('resume');
    world.powerMonitor.emit('unlock-screen');
    expect(world.core.wake).toHaveBeenCalledTimes(2);

    // The settings came from the core (no electron-store) and the installed app registered the login item.
    expect(world.core.getSettings).toHaveBeenCalled();
    if (process.platform === 'linux') expect(existsSync(join(configHome, 'autostart', 'restic-monitor-agent.desktop'))).toBe(true);
    const electron = (await import('electron')) as unknown as { ipcMain: FakeIpcMain };
    expect(electron.ipcMain.handlers.has('settings:get')).toBe(true);
  });
});
