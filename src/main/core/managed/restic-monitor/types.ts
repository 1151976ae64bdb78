import type { TaskExecutorOf } from '../types.js';
import type { RepoAccess, Retention } from '../../config/types.js';

/** The three task types the restic-monitor scheduler creates (there is no `forget`: prune = `forget --prune`). */
export type RmTaskType = 'backup' | 'check' | 'prune';

/**
 * A restic-monitor task after validation and normalisation (snake_case wire fields → camelCase, both exclude and
 * retention spellings folded, times in epoch ms). Holds no secret: safe to persist.
 */
export interface RmTask {
  readonly id: string;
  readonly policyId: string;
  readonly type: RmTaskType;
  /** The repository string exactly as the server sent it (may lack `rest:` and S3/SFTP details). */
  readonly serverRepository: string;
  /** `serverRepository` turned into a restic repository string (`rest:` prefixed when it was a bare http(s) URL). */
  readonly repository: string;
  readonly includePaths: ReadonlyArray<string>;
  readonly excludePatterns: ReadonlyArray<string>;
  readonly retention: Retention | null;
  readonly retryCount: number;
  readonly maxRetries: number | null;
  /** Do not start before this (max of `next_retry_at` and `scheduled_for`), epoch ms; null = now. */
  readonly notBefore: number | null;
  readonly createdAt: string;
}

/** A task ready to run: the normalised task plus the local credentials for its repository (memory only). */
export interface RmExecTask extends RmTask {
  readonly access: RepoAccess;
  /** Tag to put on a backup snapshot so a crashed attempt can be reconciled (`task=<id>`). */
  readonly reconcileTag: string;
}

/** One line of restic (or agent) output, already redacted by the executor or redacted by the dialect. */
export interface RmLogLine {
  readonly time: string;
  readonly stream: 'stdout' | 'stderr' | 'agent';
  readonly text: string;
}

/** Runs restic-monitor tasks (the shared executor contract with this dialect's task and log-line shapes). */
export type RmTaskExecutor = TaskExecutorOf<RmExecTask, RmLogLine>;

/** Maps a restic repository string from the server to local access (URL, password, backend env); null = unknown. */
export type ResolveRepository = (repository: string) => RepoAccess | null | Promise<RepoAccess | null>;
