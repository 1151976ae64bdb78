import type { PluginSource } from '../plugins/types.js';
import type { UpdateConfig } from '../update/updater.js';
/**
 * The agent's configuration after validation and normalisation.
 *
 * The YAML file uses snake_case and accepts shorthands (a single `repository`, durations like `30s`, named
 * policies); `schema.ts` turns it into this shape. Durations are milliseconds. Every other module reads this
 * shape only, never the raw YAML.
 */
export interface AgentConfig {
  readonly agent: AgentSection;
  readonly restic: ResticSection;
  /** Keyed by repository name; a single top-level `repository:` becomes the one named `default`. */
  readonly repositories: Readonly<Record<string, RepositoryConfig>>;
  readonly sources: ReadonlyArray<SourceConfig>;
  /** Built-in `hourly`, `daily`, `weekly` merged with the file's own `policies:`. */
  readonly policies: Readonly<Record<string, PolicyConfig>>;
  readonly secrets: SecretsSection;
  readonly pause: PauseSection;
  readonly orchestrator: OrchestratorConfig | null;
  readonly update: UpdateConfig;
}

export interface AgentSection {
  readonly id: string;
  readonly hostname: string;
  readonly pollIntervalMs: number;
  readonly heartbeatIntervalMs: number;
  /** Where the local state database and generated files live (platform default when unset). */
  readonly dataDir: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Delay before a missed run is caught up after start or wake. */
  readonly catchUpDelayMs: number;
}

export interface ResticSection {
  readonly binary: string;
  readonly cacheDir: string | null;
  readonly configDir: string | null;
  /** SIGINT → wait this long → SIGKILL. */
  readonly cancelGraceMs: number;
  /** Cancel a run that printed nothing for this long (0 = off). */
  readonly stallTimeoutMs: number;
  /** Hard limit per run (0 = off). */
  readonly runTimeoutMs: number;
  /** How long to wait for a repository lock held by someone else. */
  readonly retryLockMs: number;
}

/** Where the repository password comes from; it reaches restic only through the child's environment. */
export type PasswordSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'command'; readonly command: string }
  /** Stored in the SecretStore under this account name. */
  | { readonly kind: 'keyring'; readonly account: string };

export interface RepositoryConfig {
  readonly name: string;
  /** restic repository string (`/srv/repo`, `sftp:…`, `rest:https://…`, `s3:…`, `b2:…`). */
  readonly url: string;
  readonly password: PasswordSource;
  /** Backend credentials and options passed to restic's environment (`AWS_*`, `B2_*`, …). */
  readonly env: Readonly<Record<string, string>>;
  /** Names of env variables whose values live in the SecretStore (account `repo:<name>:env:<VAR>`). */
  readonly secretEnv: ReadonlyArray<string>;
  /** Check cadence for this repository (null = never on a schedule). */
  readonly check: CheckConfig | null;
  /** Prune cadence for this repository (null = never on a schedule). */
  readonly prune: PruneConfig | null;
}

/** A repository maintenance job (check, prune): its own schedule and run conditions, not the backups'. */
export interface MaintenanceConfig {
  readonly schedule: Schedule;
  /** A stable per-agent offset up to this long (default schedules: 1 h, to spread a fleet; explicit ones: 0). */
  readonly jitterMs: number;
  readonly conditions: RunConditions;
}

export interface CheckConfig extends MaintenanceConfig {
  /** e.g. `5%` or `1/10`, passed to `--read-data-subset` on every check; null = see `readDataCycle`. */
  readonly readDataSubset: string | null;
  /** Read all data over this many checks (`--read-data-subset n/N`, n rotating); 0 = structure only. */
  readonly readDataCycle: number;
}

export interface PruneConfig extends MaintenanceConfig {
  /** restic `--max-unused` (`5%`, `1G`, `unlimited`); null = restic's default. */
  readonly maxUnused: string | null;
  /** restic `--max-repack-size` (`2G`); null = no limit. */
  readonly maxRepackSize: string | null;
}

export interface SourceConfig {
  /** The source's id: its path, or `<kind>:<name>` for a plugin source (see `plugin`). */
  readonly path: string;
  readonly policy: string;
  readonly repository: string;
  readonly exclude: ReadonlyArray<string>;
  readonly tags: ReadonlyArray<string>;
  /** Set for a plugin source: what its backup streams into restic instead of reading `path`. */
  readonly plugin: PluginSource | null;
  /** The file's global hooks merged with the source's own (see `SourceHooks`). */
  readonly hooks: SourceHooks;
}

/** A hook command: argv, or a command line for the platform's shell. */
export type HookCommand = string | ReadonlyArray<string>;

/** One level of hooks (the file's global ones, or a source's own). */
export interface HookLayer {
  readonly before?: HookCommand;
  readonly after?: HookCommand;
  readonly onFailure?: HookCommand;
}

/**
 * What runs around a source's backup: layers that nest, outermost (global) first. A layer's `after` runs when its
 * `before` ran (or it has none), so the global `after` undoes the global `before` even when the source's failed.
 */
export interface SourceHooks {
  readonly layers: ReadonlyArray<HookLayer>;
  readonly timeoutMs: number;
}

/** `cron` uses croner syntax (5 or 6 fields, or a preset); `every` runs at a fixed interval. */
export type Schedule =
  { readonly kind: 'cron'; readonly expression: string; readonly timezone: string | null } | { readonly kind: 'every'; readonly intervalMs: number };

export interface Retention {
  readonly keepLast?: number;
  readonly keepHourly?: number;
  readonly keepDaily?: number;
  readonly keepWeekly?: number;
  readonly keepMonthly?: number;
  readonly keepYearly?: number;
  /** restic duration, e.g. `30d`, `1y2m`. */
  readonly keepWithin?: string;
}

export interface PolicyConfig {
  readonly name: string;
  readonly schedule: Schedule;
  /** Random delay added to each scheduled run, to spread a fleet. */
  readonly jitterMs: number;
  /** Applied with `forget` after each successful backup; null = keep everything. */
  readonly retention: Retention | null;
  /**
   * `maintenance` (YAML `true`): the repository's own prune schedule prunes; `after_backup`: `forget --prune` after
   * each backup (costly on big remote repositories); `never` (YAML `false`): this policy asks for no pruning.
   */
  readonly prune: PruneMode;
  readonly conditions: RunConditions;
  readonly retry: RetryPolicy;
  readonly throttle: Throttle;
  /** Alert when the newest snapshot of a source is older than this (0 = off). */
  readonly staleAfterMs: number;
}

export type PruneMode = 'maintenance' | 'after_backup' | 'never';

export interface RunConditions {
  readonly acPowerOnly: boolean;
  readonly notOnMetered: boolean;
  /** Minimum free bytes on the cache's file system (0 = no check). */
  readonly minFreeCacheBytes: number;
  /** Probe the repository before starting. */
  readonly requireRepositoryReachable: boolean;
  /** After this long without a successful backup the conditions are ignored (0 = never relax). */
  readonly deadlineMs: number;
}

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface Throttle {
  /** KiB/s, restic's `--limit-upload` / `--limit-download` (0 = unlimited). */
  readonly limitUploadKiBs: number;
  readonly limitDownloadKiBs: number;
  /** Lower CPU / I/O priority (nice/ionice on Linux, taskpolicy on macOS, priority class on Windows). */
  readonly lowPriority: boolean;
  /** restic `--read-concurrency` (≥0.15), 0 = restic's default. */
  readonly readConcurrency: number;
}

export interface SecretsSection {
  /** `auto` = OS keyring when one answers, else a 0600 file. */
  readonly backend: 'auto' | 'keyring' | 'file';
  /** Path of the file backend (default `<dataDir>/secrets.json`). */
  readonly file: string | null;
}

export interface PauseSection {
  /** Default duration for "Pause" without an explicit end. */
  readonly defaultMs: number;
}

export interface OrchestratorConfig {
  readonly url: string;
  readonly protocol: 'v1' | 'restic-monitor' | 'auto';
  readonly caFile: string | null;
  /** Plain http:// only to a loopback address, and only with this set (development and tests). */
  readonly insecureLoopback: boolean;
  /** Set when a token was found in the YAML file: moved into the SecretStore on first start. */
  readonly legacyToken: string | null;
}

/**
 * A repository as the restic executor receives it: secrets already resolved (from a file, a command or the
 * SecretStore) and destined for the child's environment only — never argv, logs or files we write.
 */
export interface RepoAccess {
  readonly url: string;
  readonly password:
    | { readonly kind: 'value'; readonly value: string }
    | { readonly kind: 'file'; readonly path: string }
    | { readonly kind: 'command'; readonly command: string };
  /** Backend credentials and options (`AWS_*`, `B2_*`, `RESTIC_REST_*` …), already resolved. */
  readonly env: Readonly<Record<string, string>>;
}
