import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { guardNavigation, hardenedWebPreferences } from './security.js';

/** What the window factory needs from the shell. */
export interface MainWindowDeps {
  /** Electron's `BrowserWindow` constructor (a fake in tests). */
  readonly BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  readonly preloadPath: string;
  /** `file://…/dist/renderer/index.html` in production. */
  readonly pageUrl: string;
  readonly iconPath?: string;
  readonly isAppUrl: (url: string) => boolean;
  readonly openExternal: (url: string) => unknown;
}

/** The window options: hardened preferences, hidden until the first paint. */
export function mainWindowOptions(preloadPath: string, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    width: 1000,
    height: 720,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'Restic Monitor Agent',
    backgroundColor: '#f6f7f9',
    autoHideMenuBar: true,
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: hardenedWebPreferences(preloadPath),
  };
}

/**
 * Creates the main window, guards its navigation and shows it once painted.
 *
 * Closing the window destroys it (the renderer process ends, so nothing renders or polls while it is
 * closed); the agent keeps running in the tray.
 */
export function createMainWindow(deps: MainWindowDeps): BrowserWindow {
  const win = new deps.BrowserWindow(mainWindowOptions(deps.preloadPath, deps.iconPath));
  guardNavigation(win.webContents, deps.isAppUrl, deps.openExternal);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(deps.pageUrl);
  return win;
}
