import type { Logger } from '../log/logger.js';
import { healthCheck, removeStaged, rollBack, stagedPath, swapIn } from './apply.js';
import { chooseRelease, UpdateRefused, type Candidate } from './manifest.js';
import { fetchSignedManifest, openFeed } from './signed-feed.js';
import type { UpdateAttempt, UpdateState, UpdateStateFile } from './state.js';

/** `update:` of the config, normalised. */
export interface UpdateConfig {
  /** Null: on for the single-file binary, off otherwise (a package manager updates those). */
  readonly enabled: boolean | null;
  readonly channel: 'stable' | 'beta';
  /** https:// base URL or directory; null: none configured (nothing to check). */
  readonly feed: string | null;
  /** Local time of day updates may be applied in, e.g. `02:00-05:00`; null: any time. */
  readonly window: { readonly from: number; readonly to: number } | null;
  /** `ed25519:<base64>` keys; empty: the keys built into the release. */
  readonly publicKeys: readonly string[];
  readonly caFile: string | null;
  readonly checkEveryMs: number;
  /** How long the new version's health check may take. */
  readonly healthTimeoutMs: number;
}

export interface UpdaterOptions {
  readonly config: UpdateConfig;
  readonly builtInKeys: readonly string[];
  /** The single-file binary to replace; null when running from Node (then there is nothing to replace). */
  readonly binary: string | null;
  readonly currentVersion: string;
  readonly configPath: string;
  readonly state: UpdateStateFile;
  /** Writes a consistent copy of the state database to a file (the health check migrates the copy). */
  readonly copyState: (to: string) => Promise<void>;
  readonly log: Logger;
}

/** A release a verified manifest offers, and where that manifest was (its artifact URL may be relative). */
export type Found = Candidate & { readonly manifestUrl: URL };

/** A verified, health-checked binary waiting to be swapped in. */
export interface Prepared {
  readonly version: string;
  readonly staged: string;
}

/** Checks a signed feed, and downloads, verifies, health-checks and swaps in a new binary. */
export class Updater {
  constructor(private readonly o: UpdaterOptions) {}

  /** The release to move to (null: up to date), recorded as the last check. */
  async check(opts: { to?: string | null; allowDowngrade?: boolean } = {}): Promise<Found | null> {
    try {
      const found = await this.#find(opts);
      await this.#record({
        lastCheck: {
          at: new Date().toISOString(),
          result: found ? 'available' : 'up-to-date',
          message: found
            ? `${found.version} is available (running ${this.o.currentVersion})`
            : `${this.o.currentVersion} is the newest on ${this.o.config.channel}`,
          latest: found?.version ?? this.o.currentVersion,
        },
      });
      return found;
    } catch (e) {
      const refused = e instanceof UpdateRefused;
      await this.#record({ lastCheck: { at: new Date().toISOString(), result: refused ? 'refused' : 'error', message: (e as Error).message, latest: null } });
      throw e;
    }
  }

  /**
   * Downloads and verifies the release `check` found, then health-checks it. A refused download or a failed
   * health check is recorded (the latter also as a version not to retry) and thrown; nothing is swapped.
   */
  async prepare(found: Found): Promise<Prepared> {
    const binary = this.#binary();
    await removeStaged(binary);
    const staged = stagedPath(binary, found.version);
    const feed = await openFeed(this.o.config);
    try {
      this.o.log.info(`update: downloading ${found.version} (${(found.artifact.size / 1048576).toFixed(1)} MiB)`);
      await feed.download(found.artifact, found.manifestUrl, staged);
    } catch (e) {
      await this.#attempt(found.version, e instanceof UpdateRefused ? 'refused' : 'failed', (e as Error).message);
      throw e;
    } finally {
      await feed.close();
    }
    try {
      this.o.log.info(`update: ${found.version} verified (SHA-256 and size as signed); health check`);
      await healthCheck(staged, {
        configPath: this.o.configPath,
        copyState: this.o.copyState,
        expectVersion: found.version,
        timeoutMs: this.o.config.healthTimeoutMs,
      });
    } catch (e) {
      await removeStaged(binary);
      await this.o.state.change((s) => ({ ...s, failedVersions: [...new Set([...s.failedVersions, found.version])] }));
      await this.#attempt(found.version, 'failed', `${(e as Error).message}; ${this.o.currentVersion} keeps running`);
      throw e;
    }
    return { version: found.version, staged };
  }

  /** Swaps the prepared binary in (the old one kept as `.previous`); the new version confirms itself at start. */
  async commit(p: Prepared): Promise<void> {
    await swapIn(this.#binary(), p.staged);
    await this.o.state.change((s) => ({ ...s, pending: { at: new Date().toISOString(), from: this.o.currentVersion, to: p.version } }));
    this.o.log.info(`update: ${p.version} is in place of ${this.o.currentVersion} (the old binary is kept as .previous)`);
  }

  /** `update --rollback`: the previous binary back in place. */
  async rollBack(): Promise<void> {
    await rollBack(this.#binary());
    await this.#attempt('previous', 'rolled-back', `rolled back by hand from ${this.o.currentVersion}`);
  }

  async #find(opts: { to?: string | null; allowDowngrade?: boolean }): Promise<Found | null> {
    const { manifest, url } = await fetchSignedManifest(this.o.config, this.o.builtInKeys);
    const found = chooseRelease(manifest, { current: this.o.currentVersion, ...opts, failed: this.o.state.read().failedVersions });
    return found ? { ...found, manifestUrl: url } : null;
  }

  #binary(): string {
    if (!this.o.binary) {
      throw new UpdateRefused('this agent runs from Node, not as the single-file binary: update it the way it was installed (npm, git, the package manager)');
    }
    return this.o.binary;
  }

  async #attempt(to: string, result: UpdateAttempt['result'], message: string): Promise<void> {
    if (result !== 'rolled-back') this.o.log.error(`update to ${to} ${result === 'refused' ? 'refused' : 'failed'}: ${message}`);
    await this.#record({ lastUpdate: { at: new Date().toISOString(), from: this.o.currentVersion, to, result, message } });
  }

  async #record(patch: Partial<UpdateState>): Promise<void> {
    await this.o.state.change((s) => ({ ...s, ...patch })).catch((e: Error) => this.o.log.warn(`update: cannot write ${this.o.state.path}: ${e.message}`));
  }
}

/**
 * At start: a version that was swapped in confirms it runs (the update is then `applied`). Leftover staged files
 * of an interrupted update are removed.
 */
export async function confirmStart(state: UpdateStateFile, version: string, binary: string | null, log: Logger): Promise<void> {
  if (binary) {
    const left = await removeStaged(binary);
    if (left.length) log.warn(`update: removed ${left.join(', ')} left by an interrupted update`);
  }
  const pending = state.read().pending;
  if (!pending) return;
  const applied = pending.to === version;
  await state.change((s) => ({
    ...s,
    pending: null,
    lastUpdate: {
      at: new Date().toISOString(),
      from: pending.from,
      to: pending.to,
      result: applied ? 'applied' : 'failed',
      message: applied ? `updated from ${pending.from} to ${pending.to}` : `${pending.to} was swapped in but ${version} started (rolled back)`,
    },
    failedVersions: applied ? s.failedVersions : [...new Set([...s.failedVersions, pending.to])],
  }));
  if (applied) log.info(`update: now running ${version} (updated from ${pending.from})`);
  else log.error(`update: ${pending.to} was swapped in, but ${version} is running: it is marked as failed and not retried`);
}

/** Whether `now` (local time) is inside the window; a window may cross midnight (22:00-04:00). */
export function inWindow(w: UpdateConfig['window'], now = new Date()): boolean {
  if (!w) return true;
  const m = now.getHours() * 60 + now.getMinutes();
  return w.from <= w.to ? m >= w.from && m < w.to : m >= w.from || m < w.to;
}
