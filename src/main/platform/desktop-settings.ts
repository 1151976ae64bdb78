import type { AgentApi, DesktopSettings } from '../../shared/agent-api.js';
import type { AutoStart } from './auto-start.js';

/** The core's settings methods: its state database is the only place desktop settings are stored. */
export type SettingsSource = Pick<AgentApi, 'getSettings' | 'setSettings'>;

/**
 * Desktop preferences (auto-start, notifications) as the shell uses them.
 *
 * The agent core stores them (state DB, `getSettings`/`setSettings`), so the tray app, the window and a
 * restart always agree; the shell keeps the last value read for synchronous readers (the notifier) and
 * keeps the OS login item in step with `autoStart`.
 */
export class ShellSettings {
  #current: DesktopSettings;

  private constructor(
    private readonly core: SettingsSource,
    private readonly autoStart: AutoStart,
    initial: DesktopSettings,
  ) {
    this.#current = initial;
  }

  /** Reads the settings from the core once, for `current`. */
  static async load(core: SettingsSource, autoStart: AutoStart): Promise<ShellSettings> {
    return new ShellSettings(core, autoStart, await core.getSettings());
  }

  /** The last settings read or written (no I/O). */
  get current(): DesktopSettings {
    return this.#current;
  }

  /** Reads the settings from the core (the source of truth). */
  async read(): Promise<DesktopSettings> {
    this.#current = await this.core.getSettings();
    return this.#current;
  }

  /**
   * Changes settings: a changed `autoStart` is applied to the OS login item first (if that fails nothing is
   * saved and the caller sees why), then the core stores the result.
   */
  async update(patch: Partial<DesktopSettings>): Promise<DesktopSettings> {
    if (patch.autoStart !== undefined && patch.autoStart !== (await this.autoStart.isEnabled())) await this.autoStart.setEnabled(patch.autoStart);
    this.#current = await this.core.setSettings(patch);
    return this.#current;
  }

  /** Makes the OS login item match the stored `autoStart` (at start of an installed app). Returns what it did. */
  async applyAutoStart(): Promise<'enabled' | 'disabled' | 'unchanged'> {
    const wanted = (await this.read()).autoStart;
    if (wanted === (await this.autoStart.isEnabled())) return 'unchanged';
    await this.autoStart.setEnabled(wanted);
    return wanted ? 'enabled' : 'disabled';
  }
}
