import type { AgentConfig, RepoAccess, RepositoryConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { Restic, type ResticVersion } from '../restic/restic.js';
import { resolveRepoAccess } from '../secrets/resolve-repo.js';
import type { SecretStore } from '../secrets/secret-store.js';

/**
 * One `Restic` executor per configured repository, built on first use.
 *
 * Secrets are resolved when a repository is first needed (not at start), so a missing keyring entry for one
 * repository does not stop the others.
 */
export class RepositoryRegistry {
  readonly #cache = new Map<string, Promise<Restic>>();

  constructor(
    private readonly config: AgentConfig,
    private readonly secrets: SecretStore,
    private readonly version: ResticVersion,
    private readonly logger: Logger,
    /** Repositories where a run of ours was killed (crash, kill -9): its lock may be left behind. Shared across reloads. */
    private readonly staleLocks: Set<string> = new Set(),
  ) {}

  /** The repository's config, or a clear error naming the known ones. */
  describe(name: string): RepositoryConfig {
    const repo = this.config.repositories[name];
    if (!repo) {
      const known = Object.keys(this.config.repositories).join(', ') || 'none';
      throw new Error(`Unknown repository "${name}" (configured: ${known})`);
    }
    return repo;
  }

  /** The executor for repository `name`. */
  get(name: string): Promise<Restic> {
    let restic = this.#cache.get(name);
    if (!restic) {
      restic = resolveRepoAccess(this.describe(name), this.secrets).then(async (access) => {
        const r = this.forAccess(access);
        if (this.staleLocks.delete(name)) await this.#removeStaleLocks(name, r);
        return r;
      });
      // A failed resolution (missing keyring entry) must not be cached: the user may fix it and retry.
      restic.catch(() => this.#cache.delete(name));
      this.#cache.set(name, restic);
    }
    return restic;
  }

  /**
   * `restic unlock` (never `--remove-all`) before the first operation after a crash: it removes only locks of
   * dead processes on this host (or older than 30 min), so a killed run's lock cannot block the next check or forget.
   */
  async #removeStaleLocks(name: string, restic: Restic): Promise<void> {
    const r = await restic.unlock();
    if (r.outcome === 'success') this.logger.info(`repository ${name}: removed stale locks left by an interrupted run (restic unlock)`);
    else this.logger.warn(`repository ${name}: could not remove stale locks after an interrupted run: ${r.message}`);
  }

  /** An executor for an ad-hoc repository (setup wizard probes, orchestrator tasks with their own credentials). */
  forAccess(access: RepoAccess): Restic {
    const { agent, restic } = this.config;
    return new Restic({
      binary: restic.binary,
      version: this.version,
      repo: access,
      host: agent.hostname,
      cacheDir: restic.cacheDir,
      retryLockMs: restic.retryLockMs,
      logger: this.logger,
    });
  }
}
