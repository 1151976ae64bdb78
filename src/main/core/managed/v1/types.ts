import type { UpdateReport } from '../../update/report.js';
import type { TaskExecutorOf } from '../types.js';

/** Task types the agent understands (protocol v1 §5.4). */
export type TaskType = 'backup' | 'check' | 'forget' | 'prune';

/** Retention flags of a `forget` task (restic `--keep-*`). */
export interface KeepPolicy {
  readonly last?: number;
  readonly hourly?: number;
  readonly daily?: number;
  readonly weekly?: number;
  readonly monthly?: number;
  readonly yearly?: number;
  /** restic duration, e.g. `30d`. */
  readonly within?: string;
}

/** Per-type parameters after validation. */
export type TaskParams =
  | {
      readonly type: 'backup';
      /** A configured source to back up (its own paths, plugin, excludes and hooks) instead of `paths`. */
      readonly source: string | null;
      readonly paths: ReadonlyArray<string>;
      readonly exclude: ReadonlyArray<string>;
      /** Includes the mandatory `task=<task_id>` tag. */
      readonly tags: ReadonlyArray<string>;
      readonly host: string | null;
      readonly limitUploadKiB: number | null;
    }
  | { readonly type: 'check'; readonly readDataSubset: string | null }
  | {
      readonly type: 'forget';
      readonly keep: KeepPolicy;
      readonly groupBy: string | null;
      readonly host: string | null;
      readonly tags: ReadonlyArray<string>;
    }
  | { readonly type: 'prune'; readonly maxUnused: string | null; readonly maxRepackSize: string | null };

/**
 * A task offer that passed validation. Repository credentials live in `repo` in memory only: they are
 * never written to the journal or the outbox (spec §7.2).
 */
export interface ValidatedTask {
  readonly taskId: string;
  readonly leaseId: string;
  readonly attempt: number;
  readonly type: TaskType;
  readonly offerExpiresInS: number;
  readonly leaseTtlS: number;
  readonly maxRuntimeS: number;
  readonly cancelGraceS: number;
  readonly lostAfterS: number;
  readonly repo: {
    readonly repoId: string;
    readonly url: string;
    readonly env: Readonly<Record<string, string>>;
    readonly password: string;
    readonly credentialsExpireInS: number | null;
  };
  readonly params: TaskParams;
  /** `task=<task_id>` on a retry after a crash or lost attempt (spec §7.3). */
  readonly reconcileTag: string | null;
  /** Steps to run first, e.g. `['unlock']` on a retry after a crash. The executor honours it. */
  readonly pre: ReadonlyArray<'unlock'>;
}

/** One log line produced while a task runs (redacted by the agent before spooling). */
export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** `restic.stderr`, `restic.stdout`, `restic.summary`, `agent` … */
  readonly src: string;
  readonly msg: string;
  readonly data?: Readonly<Record<string, string | number | boolean | null>>;
}

/** Runs protocol-v1 tasks (the shared executor contract with this dialect's task and log-line shapes). */
export type TaskExecutor = TaskExecutorOf<ValidatedTask, LogLine>;

/** Server-driven tunables (register response `config`, heartbeat `config`, `update_config` command). */
export interface Tunables {
  heartbeat_interval_s: number;
  poll_wait_max_s: number;
  lease_ttl_s: number;
  offer_ttl_s: number;
  progress_interval_s: number;
  log_flush_interval_ms: number;
  log_batch_max_lines: number;
  log_batch_max_bytes: number;
  log_max_bytes_per_task: number;
  spool_max_bytes: number;
  drain_max_rps: number;
}

/** Protocol defaults (spec §5.1 register response). */
export const DEFAULT_TUNABLES: Readonly<Tunables> = {
  heartbeat_interval_s: 30,
  poll_wait_max_s: 50,
  lease_ttl_s: 120,
  offer_ttl_s: 60,
  progress_interval_s: 10,
  log_flush_interval_ms: 2000,
  log_batch_max_lines: 1000,
  log_batch_max_bytes: 262_144,
  log_max_bytes_per_task: 67_108_864,
  spool_max_bytes: 268_435_456,
  drain_max_rps: 5,
};

/** Machine facts for the heartbeat, supplied by the agent core (spec §5.3). */
export interface HeartbeatFacts {
  readonly resources: {
    readonly cpu_pct: number;
    readonly load1: number;
    readonly mem_used_bytes: number;
    readonly mem_total_bytes: number;
    readonly agent_rss_bytes: number;
  };
  readonly disks: ReadonlyArray<{ readonly mount: string; readonly free_bytes: number; readonly total_bytes: number }>;
  readonly repos: ReadonlyArray<{
    readonly repo_id: string;
    readonly reachable: boolean;
    readonly checked_at: string;
    readonly error: string | null;
  }>;
  readonly restic_version: string | null;
  readonly ntp_synced: boolean | null;
  /** Plugin sources' last health checks (an extension of §5.3). */
  readonly sources?: ReadonlyArray<{ readonly id: string; readonly healthy: boolean; readonly health: string; readonly checked_at: string }>;
  /** The running agent's version (an extension of §5.3: the server then sees an update take effect). */
  readonly agent_version?: string;
  /** The last update check and attempt (an extension of §5.3). */
  readonly update?: UpdateReport | null;
}

/** Supplies heartbeat facts; called before every beat. */
export type HeartbeatProvider = () => Promise<HeartbeatFacts> | HeartbeatFacts;

/** The agent's identity as sent in headers and at register. */
export interface AgentIdentity {
  readonly agentVersion: string;
  readonly resticVersion: string | null;
  readonly hostname: string;
}
