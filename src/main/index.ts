import { existsSync } from 'node:fs';
/**
 * Composition root of the desktop app: the only place real Electron objects are created and wired together.
 *
 * The agent core starts with the app (at login, hidden) and keeps running with no window; the window is
 * created on demand and destroyed on close; Quit stops restic cleanly before exiting.
 */
import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, powerMonitor, session, shell, Tray } from 'electron';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AgentStatus, withRunProgress } from '../shared/model/status.js';
import { appFiles } from './app-paths.js';
import { createAgentCore, currentPlatformPaths, type AgentCore } from './core/index.js';
import { createDesktopApi } from './desktop-api.js';
import { registerAgentHandlers } from './ipc/ipc-main.js';
import { RendererBridge } from './ipc/renderer-bridge.js';
import { TrustedSenders, urlUnder } from './ipc/trusted-senders.js';
import { createAutoStart, HIDDEN_FLAG } from './platform/auto-start.js';
import { ShellSettings } from './platform/desktop-settings.js';
import { Notifier } from './platform/notifier.js';
import { wakeOnPowerEvents } from './platform/power-events.js';
import type { TrayMenuItem } from './tray/tray-menu-template.js';
import { trayIconFile, TrayService } from './tray/tray-service.js';
import { DesktopUpdater, signedManifestCheck } from './desktop-updater.js';
import { createMainWindow } from './windows/main-window.js';
import { guardNavigation, hardenSession } from './windows/security.js';

const files = appFiles(dirname(fileURLToPath(import.meta.url)));
const isAppUrl = urlUnder(files.rendererIndexUrl);
const openExternal = (url: string): Promise<void> => shell.openExternal(url);
let core: AgentCore | null = null;
let window: BrowserWindow | null = null;
let quitting = false;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => openWindow());
  // The agent lives in the tray: closing the last window must not quit.
  app.on('window-all-closed', () => {});
  app.on('web-contents-created', (_event, contents) => guardNavigation(contents, isAppUrl, openExternal));
  app.on('before-quit', (event) => {
    if (quitting || !core) return;
    event.preventDefault();
    quitting = true;
    void core.stop().finally(() => app.exit(0));
  });
  app.whenReady().then(start, (error: unknown) => {
    console.error('Restic Monitor Agent could not start:', error);
    app.exit(1);
  });
}

const trusted = new TrustedSenders(isAppUrl);
let bridge: RendererBridge | null = null;

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  const autoStart = createAutoStart({
    platform: process.platform,
    app,
    execPath: process.env.APPIMAGE ?? process.execPath,
    configHome: process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'),
  });

  const agent = await createAgentCore({ configPath: currentPlatformPaths().configFile, ifMissing: 'empty', schedule: true });
  core = agent;
  // Desktop settings live in the core's state DB; the shell only applies them.
  const settings = await ShellSettings.load(agent, autoStart);
  // Touch the login item only for an installed app, never for a development checkout.
  if (app.isPackaged) {
    try {
      const change = await settings.applyAutoStart();
      if (change !== 'unchanged') agent.logs.info(`auto-start ${change} to match the settings`);
    } catch (e) {
      agent.logs.warn(`auto-start could not be updated: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  wakeOnPowerEvents(powerMonitor, agent, (message) => agent.logs.info(message));
  bridge = new RendererBridge(agent);
  registerAgentHandlers(
    ipcMain,
    createDesktopApi(agent, settings),
    trusted,
    (id) => bridge?.markReady(id),
    (channel, reason) => agent.logs.warn(`Refused IPC call on ${channel}: ${reason}`),
  );

  // electron-updater against the feed in electron-builder.yml's `publish`: only in an installed app built with one
  // (electron-builder then writes resources/app-update.yml).
  const appUpdateYml = process.resourcesPath ? join(process.resourcesPath, 'app-update.yml') : '';
  const updates =
    app.isPackaged && appUpdateYml && existsSync(appUpdateYml)
      ? new DesktopUpdater({
          updater: (await import('electron-updater')).default.autoUpdater,
          verify: signedManifestCheck(agent.effectiveConfig().update, appUpdateYml),
          isBusy: () => last.running.length > 0,
          onChange: () => tray.render(),
          log: agent.logs,
        })
      : null;
  const tray = new TrayService({
    update: () => updates?.state() ?? null,
    createTray: (image) => new Tray(image as Electron.NativeImage),
    buildMenu: (template) => Menu.buildFromTemplate(template.map(toElectronItem)),
    loadImage: (path) => nativeImage.createFromPath(path),
    iconPath: (state) => join(files.assetsDir, 'tray', trayIconFile(state, process.platform)),
    actions: {
      backupNow: (source) => void agent.backupNow(source).catch(logError),
      cancel: (runId) => void agent.cancel(runId).catch(logError),
      pause: (until) => void agent.pause(until).catch(logError),
      resume: () => void agent.resume().catch(logError),
      checkNow: () => void agent.checkNow(null).catch(logError),
      openWindow,
      restartToUpdate: () => updates?.restartToUpdate(),
      quit: () => app.quit(),
    },
  });
  const notifier = new Notifier(
    (alert) => {
      if (Notification.isSupported()) new Notification({ title: alert.title, body: alert.body }).show();
    },
    () => settings.current,
  );
  let last: AgentStatus = await agent.getStatus();
  tray.setStatus(last);
  agent.on('status', (status) => {
    tray.setStatus((last = status));
    updates?.statusChanged();
  });
  updates?.start(6 * 3_600_000);
  agent.on('run-progress', (p) => tray.setStatus((last = withRunProgress(last, p))));
  agent.on('run-finished', (run) => notifier.runFinished(run));
  agent.on('alert', (a) => notifier.alert(a));

  if (!process.argv.includes(HIDDEN_FLAG) || last.state === 'needs-setup') openWindow();

  function logError(error: unknown): void {
    agent.logs.error(error instanceof Error ? error.message : String(error));
  }
}

function openWindow(): void {
  if (window && !window.isDestroyed()) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return;
  }
  if (!bridge) return;
  const win = createMainWindow({
    BrowserWindow,
    preloadPath: files.preloadPath,
    pageUrl: files.rendererIndexUrl,
    iconPath: join(files.assetsDir, 'icon.png'),
    isAppUrl,
    openExternal,
  });
  trusted.add(win.webContents);
  bridge.attach(win.webContents);
  // A reload starts a new renderer that must signal ready again.
  win.webContents.on('did-start-loading', () => bridge?.attach(win.webContents));
  win.on('closed', () => {
    bridge?.detach();
    window = null;
  });
  window = win;
}

function toElectronItem(item: TrayMenuItem): Electron.MenuItemConstructorOptions {
  const { submenu, ...rest } = item;
  return submenu ? { ...rest, submenu: submenu.map(toElectronItem) } : { ...rest };
}
