import type { BackupStats, Progress, RunOutcome } from '../../../shared/model/run.js';

/** What the executor reports when restic has finished (both dialects). */
export interface ExecutionResult {
  readonly outcome: RunOutcome;
  readonly exitCode: number | null;
  readonly message: string;
  readonly snapshotId: string | null;
  readonly stats: BackupStats | null;
}

/**
 * Runs managed tasks with restic. The agent core provides one implementation (`task-executor.ts`: real restic,
 * per-repository queue, history) for both dialects; a dialect only decides when, and reports what happened.
 * `Task` and `Line` are the dialect's own task and log-line shapes.
 */
export interface TaskExecutorOf<Task, Line> {
  /** Runs one task; resolves when restic has finished. The signal means SIGINT → grace → SIGKILL. */
  execute(
    task: Task,
    ctl: {
      signal: AbortSignal;
      onProgress(p: Progress): void;
      onLog(line: Line): void;
      /** Call right after spawning restic: journals pid + start time for the orphan check after a crash. */
      onSpawn?(pid: number, startTime: string | null): void;
    },
  ): Promise<ExecutionResult>;
  /** For crash recovery: the snapshot an earlier (crashed) attempt made, found by its `task=<id>` tag; null if none. */
  findSnapshotForTask(task: Task): Promise<string | null>;
  /**
   * Optional: for crash recovery, kills a restic left running by a previous agent process when its pid still
   * belongs to the same process (start time matches). Resolves when it is gone.
   */
  killOrphan?(pid: number, startTime: string | null, graceMs: number): Promise<void>;
}
