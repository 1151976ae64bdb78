import type { AgentState, AgentStatus } from '../../shared/model/status.js';
import { iconState, trayMenuTemplate, trayTooltip, type TrayActions, type TrayMenuItem, type TrayUpdate } from './tray-menu-template.js';

/** The part of Electron's `Tray` the service uses. */
export interface TrayLike {
  setImage(image: unknown): void;
  setToolTip(text: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

/** Everything Electron-specific the tray needs, passed in (Signal's `createTrayInstance` idea). */
export interface TrayServiceDeps {
  readonly createTray: (image: unknown) => TrayLike;
  /** `Menu.buildFromTemplate`. */
  readonly buildMenu: (template: TrayMenuItem[]) => unknown;
  /** `nativeImage.createFromPath`. */
  readonly loadImage: (path: string) => unknown;
  readonly iconPath: (state: AgentState) => string;
  readonly actions: TrayActions;
  readonly now?: () => Date;
  /** A downloaded app update (the "Restart to update" item). */
  readonly update?: () => TrayUpdate | null;
}

/**
 * The tray icon as a service: `setStatus()` stores the state and one idempotent `render()` draws icon, tooltip
 * and menu. Nothing is redrawn when the visible result did not change (progress ticks only update the
 * status line, at most once per render).
 */
export class TrayService {
  readonly #deps: TrayServiceDeps;
  #tray: TrayLike | null = null;
  #status: AgentStatus | null = null;
  #lastIcon = '';
  #lastMenuKey = '';
  #lastTooltip = '';

  constructor(deps: TrayServiceDeps) {
    this.#deps = deps;
  }

  /** Stores the newest status and renders. */
  setStatus(status: AgentStatus): void {
    this.#status = status;
    this.render();
  }

  /** Creates the tray on first call; afterwards updates only what changed. */
  render(): void {
    const status = this.#status;
    if (!status) return;
    const now = this.#deps.now?.() ?? new Date();
    const icon = this.#deps.iconPath(iconState(status));
    if (!this.#tray) {
      this.#tray = this.#deps.createTray(this.#deps.loadImage(icon));
      this.#tray.on('click', () => this.#deps.actions.openWindow());
      this.#lastIcon = icon;
    } else if (icon !== this.#lastIcon) {
      this.#tray.setImage(this.#deps.loadImage(icon));
      this.#lastIcon = icon;
    }
    const tooltip = trayTooltip(status, now);
    if (tooltip !== this.#lastTooltip) {
      this.#tray.setToolTip(tooltip);
      this.#lastTooltip = tooltip;
    }
    const template = trayMenuTemplate(status, this.#deps.actions, now, this.#deps.update?.() ?? null);
    const key = JSON.stringify(template);
    if (key !== this.#lastMenuKey) {
      this.#tray.setContextMenu(this.#deps.buildMenu(template));
      this.#lastMenuKey = key;
    }
  }

  /** Removes the icon (on quit). */
  destroy(): void {
    this.#tray?.destroy();
    this.#tray = null;
  }

  /** For tests: the current tray instance. */
  _getTray(): TrayLike | null {
    return this.#tray;
  }
}

/**
 * The icon file for a state: `tray-<state>Template.png` on macOS (monochrome, tinted by the menu bar),
 * `tray-<state>.png` elsewhere.
 */
export function trayIconFile(state: AgentState, platform: NodeJS.Platform): string {
  return platform === 'darwin' ? `tray-${state}Template.png` : `tray-${state}.png`;
}
