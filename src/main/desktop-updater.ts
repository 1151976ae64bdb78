/** The part of electron-updater's `AppUpdater` the tray app uses (injected: tests pass a fake). */
export interface AppUpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  on(event: 'update-downloaded', listener: (info: { version: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  checkForUpdates(): Promise<unknown>;
  quitAndInstall(isSilent?: boolean, isForceRunAfter?: boolean): void;
}

export interface DesktopUpdaterDeps {
  readonly updater: AppUpdaterLike;
  /** True while a backup (any restic run) is in progress: the app never restarts then. */
  readonly isBusy: () => boolean;
  /** Redraw the tray (a download finished, a restart was deferred). */
  readonly onChange: () => void;
  readonly log: { info(m: string): void; warn(m: string): void };
}

/**
 * The tray app's updates, through electron-updater: downloads in the background (its SHA-512 check of the feed's
 * `latest*.yml`, and on Windows its code-signature check, stay on); once downloaded the tray offers "Restart to
 * update"; a restart asked for during a backup waits until the backup has finished. Nothing installs on quit
 * behind the user's back.
 */
export class DesktopUpdater {
  #ready: string | null = null;
  #deferred = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DesktopUpdaterDeps) {
    d.updater.autoDownload = true;
    d.updater.autoInstallOnAppQuit = false;
    d.updater.on('update-downloaded', (info) => {
      this.#ready = info.version;
      d.log.info(`update ${info.version} downloaded: "Restart to update" is in the tray menu`);
      d.onChange();
    });
    d.updater.on('error', (e) => d.log.warn(`update check failed: ${e.message}`));
  }

  /** Checks now and then every `everyMs`. */
  start(everyMs: number): void {
    const check = () => void this.d.updater.checkForUpdates().catch((e: Error) => this.d.log.warn(`update check failed: ${e.message}`));
    check();
    this.#timer = setInterval(check, everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The downloaded version waiting for a restart, and whether the restart waits for a backup. */
  state(): { readonly ready: string | null; readonly waitingForBackup: boolean } {
    return { ready: this.#ready, waitingForBackup: this.#deferred };
  }

  /** The tray's "Restart to update": now when idle, else as soon as the running backup has finished. */
  restartToUpdate(): void {
    if (!this.#ready) return;
    if (this.d.isBusy()) {
      this.#deferred = true;
      this.d.log.info(`restart to update ${this.#ready}: waiting for the running backup to finish`);
      this.d.onChange();
      return;
    }
    this.d.updater.quitAndInstall(false, true);
  }

  /** Called on every status change: a deferred restart happens once nothing runs. */
  statusChanged(): void {
    if (this.#deferred && !this.d.isBusy()) {
      this.#deferred = false;
      this.restartToUpdate();
    }
  }
}
