import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { BUILT_IN_RELEASE_KEYS, currentPlatform, verifyDownloadedFile, type UpdateConfig } from './core/index.js';

/** The part of electron-updater's `AppUpdater` the tray app uses (injected: tests pass a fake). */
export interface AppUpdaterLike {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  on(event: 'update-downloaded', listener: (info: { version: string; downloadedFile: string }) => void): unknown;
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
  /**
   * Refuses (throws) a downloaded file the feed's ed25519-signed manifest does not list for this version: the same
   * check as the headless agent's (core `verifyDownloadedFile`), on top of electron-updater's SHA-512.
   */
  readonly verify: (file: string, version: string) => Promise<void>;
  readonly log: { info(m: string): void; warn(m: string): void; error(m: string): void };
}

/**
 * The tray app's updates, through electron-updater: downloads in the background (its SHA-512 check of the feed's
 * `latest*.yml`, and on Windows its code-signature check, stay on); a download the signed manifest does not list
 * is refused; once verified the tray offers "Restart to update"; a restart asked for during a backup waits until
 * the backup has finished. Nothing installs on quit behind the user's back.
 */
export class DesktopUpdater {
  #ready: string | null = null;
  #deferred = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: DesktopUpdaterDeps) {
    d.updater.autoDownload = true;
    d.updater.autoInstallOnAppQuit = false;
    d.updater.on('update-downloaded', (info) => this.#downloaded(info.version, info.downloadedFile));
    d.updater.on('error', (e) => d.log.warn(`update check failed: ${e.message}`));
  }

  /** Settles once the last download's verification has (tests). */
  verified: Promise<void> = Promise.resolve();

  #downloaded(version: string, file: string): void {
    this.verified = this.d.verify(file, version).then(
      () => {
        this.#ready = version;
        this.d.log.info(`update ${version} downloaded and verified: "Restart to update" is in the tray menu`);
        this.d.onChange();
      },
      (e: Error) => this.d.log.error(`update ${version} refused: ${e.message}`),
    );
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

/**
 * The `verify` of an installed app: the manifest of `update.feed`, or else of the feed electron-builder's `publish`
 * wrote into app-update.yml, signed by a trusted key, must list the download as `desktop-<platform>`.
 */
export function signedManifestCheck(config: UpdateConfig, appUpdateYml: string, keys = BUILT_IN_RELEASE_KEYS): DesktopUpdaterDeps['verify'] {
  return (file, version) => {
    const published = () => (parse(readFileSync(appUpdateYml, 'utf8')) as { url?: string } | null)?.url ?? null;
    return verifyDownloadedFile({ ...config, feed: config.feed ?? published() }, keys, file, version, `desktop-${currentPlatform()}`);
  };
}
