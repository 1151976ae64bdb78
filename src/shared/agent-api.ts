import type { AgentAlert } from './model/alert.js';
import type { LogEntry, LogLevel } from './model/log.js';
import type { RunRecord } from './model/run.js';
import type { AgentStatus, RunningInfo } from './model/status.js';

/** A snapshot as listed in the UI. */
export interface SnapshotInfo {
  readonly id: string;
  readonly shortId: string;
  readonly time: string;
  readonly hostname: string;
  readonly paths: ReadonlyArray<string>;
  readonly tags: ReadonlyArray<string>;
  /** Bytes processed by the backup that made it (restic ≥0.17 snapshots), else null. */
  readonly sizeBytes: number | null;
}

/** Result of validating a config document: errors name the key path and the fix. */
export type ValidationResult =
  { readonly ok: true } | { readonly ok: false; readonly errors: ReadonlyArray<{ readonly path: string; readonly message: string }> };

/** What the setup wizard collects for a standalone repository. */
export interface RepositorySetup {
  /** restic repository string, e.g. `/home/me/backup`, `sftp:me@host:/srv/repo`, `s3:https://…/bucket`. */
  readonly url: string;
  readonly password: string;
  /** Backend credentials (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY …); secret ones go to the keyring. */
  readonly env: Readonly<Record<string, string>>;
}

/** Answer of a live repository test. */
export interface RepositoryProbe {
  readonly reachable: boolean;
  /** `exists` = opened with the password; `missing` = no repository there yet (can be initialised). */
  readonly state: 'exists' | 'missing' | 'wrong-password' | 'unreachable';
  readonly message: string;
}

/** The standalone setup the wizard saves. */
export interface StandaloneSetup {
  readonly repository: RepositorySetup;
  readonly initialise: boolean;
  readonly sources: ReadonlyArray<string>;
  readonly exclude: ReadonlyArray<string>;
  readonly policy: string; // a built-in or custom policy name
}

/** The managed setup the wizard saves. */
export interface ManagedSetup {
  readonly url: string;
  readonly enrollmentToken: string;
  readonly caFile: string | null;
  /** Allow plain `http://` to a loopback address (development and tests; the wizard's testing checkbox). */
  readonly insecureLoopback?: boolean;
}

/** Main → renderer events. */
/**
 * What the core pushes. Consumers take these as they are — the tray, the notifier and the window never
 * re-derive a run's end or an alert from status snapshots.
 */
export interface AgentEvents {
  /** The whole status, coalesced: at most one per tick. */
  readonly status: AgentStatus;
  /** A running run's progress. */
  readonly 'run-progress': RunningInfo;
  /** A run ended: its final history record. */
  readonly 'run-finished': RunRecord;
  /** Something the user should hear about (once per transition). */
  readonly alert: AgentAlert;
  readonly logs: ReadonlyArray<LogEntry>;
}

/**
 * Restore request: a whole snapshot, or one path of it, into a target folder; or, for a plugin source's
 * snapshot, its dump into a new database, a new Docker volume or a new file (`into`, then `target` is unused).
 */
export interface RestoreRequest {
  readonly repository: string;
  readonly snapshotId: string;
  readonly include: string | null;
  readonly target: string;
  readonly into?: PluginRestoreTarget | null;
}

/** Where a plugin source's snapshot is restored: `source` is the source's id (`postgres:shop-db`). */
export interface PluginRestoreTarget {
  readonly source: string;
  readonly kind: 'database' | 'volume' | 'file';
  /** The new database's or volume's name, or the new file's path. */
  readonly name: string;
}

/**
 * What a UI (the Electron window through the preload bridge, or a test bridge) can ask the agent core.
 *
 * Every method validates its arguments in the core; failures reject with an Error whose message is meant
 * for a person.
 */
export interface AgentApi {
  getStatus(): Promise<AgentStatus>;
  backupNow(source: string | null): Promise<{ readonly runIds: ReadonlyArray<string> }>;
  checkNow(repository: string | null): Promise<{ readonly runIds: ReadonlyArray<string> }>;
  cancel(runId: string | null): Promise<void>;
  /** Pause until the given ISO time (null = the config's default duration). */
  pause(until: string | null): Promise<void>;
  resume(): Promise<void>;
  getHistory(query: { readonly limit: number; readonly source?: string }): Promise<ReadonlyArray<RunRecord>>;
  getLogs(query: { readonly limit: number; readonly runId?: string; readonly minLevel?: LogLevel }): Promise<ReadonlyArray<LogEntry>>;
  /** The config file's text (YAML) and the path it lives at. */
  getConfig(): Promise<{ readonly path: string; readonly yaml: string }>;
  /** Validates, saves atomically and applies without restart. */
  saveConfig(yaml: string): Promise<ValidationResult>;
  listSnapshots(repository: string | null): Promise<ReadonlyArray<SnapshotInfo>>;
  restore(request: RestoreRequest): Promise<{ readonly runId: string }>;
  testRepository(repository: RepositorySetup): Promise<RepositoryProbe>;
  generatePassword(): Promise<string>;
  setupStandalone(setup: StandaloneSetup): Promise<ValidationResult>;
  setupManaged(setup: ManagedSetup): Promise<ValidationResult>;
  getSettings(): Promise<DesktopSettings>;
  setSettings(settings: Partial<DesktopSettings>): Promise<DesktopSettings>;
}

/** Desktop-only preferences (not part of the agent's YAML config). */
export interface DesktopSettings {
  readonly autoStart: boolean;
  readonly notifyOnSuccess: boolean;
  readonly notifyOnFailure: boolean;
  readonly notifyOnOverdue: boolean;
}
