import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The part of Electron's `app` used for login items on macOS and Windows. */
export interface LoginItemApp {
  setLoginItemSettings(settings: { openAtLogin: boolean; openAsHidden?: boolean; args?: string[]; path?: string }): void;
  getLoginItemSettings(options?: { args?: string[]; path?: string }): { openAtLogin: boolean };
}

/** Starts the agent at login, hidden in the tray. */
export interface AutoStart {
  isEnabled(): Promise<boolean>;
  setEnabled(enabled: boolean): Promise<void>;
}

/** The flag the login item passes so the app starts in the tray without opening its window. */
export const HIDDEN_FLAG = '--hidden';

export interface AutoStartOptions {
  readonly platform: NodeJS.Platform;
  readonly app: LoginItemApp;
  /** The executable to start (`process.execPath`; the AppImage path when `APPIMAGE` is set). */
  readonly execPath: string;
  /** `$XDG_CONFIG_HOME` or `~/.config` (Linux). */
  readonly configHome: string;
}

/** Picks the login-item mechanism of the platform: `app.setLoginItemSettings` or an XDG autostart file. */
export function createAutoStart(options: AutoStartOptions): AutoStart {
  if (options.platform === 'linux') return xdgAutoStart(join(options.configHome, 'autostart', 'restic-monitor-agent.desktop'), options.execPath);
  const args = [HIDDEN_FLAG];
  const { app } = options;
  return {
    isEnabled: async () => app.getLoginItemSettings({ args }).openAtLogin,
    setEnabled: async (enabled) => {
      // openAsHidden is macOS-only; Windows passes the flag through args.
      app.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true, args });
    },
  };
}

/** The XDG autostart entry (freedesktop Desktop Entry spec; `Exec` arguments quoted). */
export function desktopEntry(execPath: string): string {
  const quoted = /[\s"'\\$`]/.test(execPath) ? `"${execPath.replace(/(["\\$`])/g, '\\$1')}"` : execPath;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Restic Monitor Agent',
    'Comment=Backs up your folders with restic',
    `Exec=${quoted} ${HIDDEN_FLAG}`,
    'Icon=restic-monitor-agent',
    'Terminal=false',
    'Categories=Utility;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Auto-start on Linux desktops: a `.desktop` file in `~/.config/autostart`. */
export function xdgAutoStart(file: string, execPath: string): AutoStart {
  return {
    isEnabled: async () => {
      try {
        const text = await readFile(file, 'utf8');
        return !/^Hidden=true$/m.test(text) && !/^X-GNOME-Autostart-enabled=false$/m.test(text);
      } catch {
        return false;
      }
    },
    setEnabled: async (enabled) => {
      if (!enabled) return void (await rm(file, { force: true }));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, desktopEntry(execPath), { mode: 0o644 });
    },
  };
}
