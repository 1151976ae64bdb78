import { randomUUID } from 'node:crypto';
import { outcomeTone, type RunOutcome, type RunRecord } from '../../../shared/model/run.js';
import type { RunningInfo } from '../../../shared/model/status.js';
import type { AgentConfig, RepoAccess } from '../config/types.js';
import type { LogHub } from '../log/logger.js';
import type { BackupResult, Restic, ResticEvent, ResticResult, RunControl } from '../restic/restic.js';
import { QueueCancelledError, type RepoQueue } from '../scheduler/repo-queue.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { RunHistory, RunStart } from '../state/run-history.js';
import type { RepositoryRegistry } from './repositories.js';
import type { RunningRuns } from './running.js';

/** What a run is, for history, status and the queue. */
export interface RunMeta extends Omit<RunStart, 'id'> {
  readonly runId?: string;
  readonly lowPriority?: boolean;
  /** Credentials delivered with an orchestrator task (memory only); otherwise the configured repository's. */
  readonly access?: RepoAccess;
}

/** Per-run options: the caller's cancel signal, a tap on restic's events, limits that override the config. */
export interface TrackOptions {
  readonly signal?: AbortSignal;
  readonly tap?: (e: ResticEvent) => void;
  readonly timeoutMs?: number;
  readonly cancelGraceMs?: number;
  readonly onSpawn?: (pid: number) => void;
}

/** The dependencies every tracked run shares. */
export interface TrackerDeps {
  readonly config: AgentConfig;
  readonly repos: RepositoryRegistry;
  readonly history: RunHistory;
  /** Plugin sources read their database passwords from it. */
  readonly secrets: SecretStore;
  /** The per-repository queue; `inSlot` when the caller already holds the repository (scheduled jobs). */
  readonly queue: Pick<RepoQueue, 'run'>;
  readonly running: RunningRuns;
  readonly logs: LogHub;
  readonly onProgress: (info: RunningInfo) => void;
  /** The run ended; `record` is its final history entry. */
  readonly onFinished: (record: RunRecord) => void;
  readonly onChange: () => void;
}

/** A queue for callers that already hold the repository's slot: runs at once, on the caller's signal. */
export const inSlot: Pick<RepoQueue, 'run'> = {
  run: (_repository, _kind, fn, opts = {}) => fn(opts.signal ?? new AbortController().signal),
};

/** A restic operation to run once the repository is free. */
export type ResticOp<R extends ResticResult> = (restic: Restic, ctl: RunControl) => Promise<R>;

/** A finished run: its history record and restic's result (null when restic never started). */
export interface TrackedRun<R> {
  readonly record: RunRecord;
  readonly result: R | null;
}

/**
 * Runs one restic operation the way every run must go: queued per repository, recorded in the history,
 * visible (and cancellable) while running, logged with its run id, and classified when it ends.
 *
 * Scheduled jobs, "Back up now", restores and orchestrator tasks all come through here.
 */
export async function trackRun<R extends ResticResult>(deps: TrackerDeps, meta: RunMeta, op: ResticOp<R>, opts: TrackOptions = {}): Promise<TrackedRun<R>> {
  const runId = meta.runId ?? randomUUID();
  const log = deps.logs.forRun(runId);
  const signal = deps.running.add({ runId, kind: meta.kind, repository: meta.repository, source: meta.source }, opts.signal);
  deps.onChange();
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    deps.history.start({
      id: runId,
      kind: meta.kind,
      trigger: meta.trigger,
      repository: meta.repository,
      source: meta.source,
      policy: meta.policy,
      taskId: meta.taskId,
    });
    log.info(`${meta.kind} started${meta.source ? ` for ${meta.source}` : ''} (repository ${meta.repository}, ${meta.trigger})`);
  };
  let result: R | null = null;
  let outcome: RunOutcome;
  let message: string;
  try {
    result = await deps.queue.run(
      meta.repository,
      meta.kind,
      async (qsignal) => {
        start();
        const restic = meta.access ? deps.repos.forAccess(meta.access) : await deps.repos.get(meta.repository);
        return op(restic, control(deps, runId, qsignal, meta.lowPriority ?? false, opts));
      },
      { signal, id: runId, label: meta.source ?? meta.kind },
    );
    ({ outcome, message } = result);
  } catch (err) {
    outcome = err instanceof QueueCancelledError ? 'cancelled' : 'config-error';
    message = err instanceof QueueCancelledError ? 'Cancelled before it started' : (err as Error).message;
  } finally {
    deps.running.remove(runId);
  }
  start();
  const backup = result && 'snapshotId' in result ? (result as unknown as BackupResult) : null;
  const record = deps.history.finish(runId, {
    outcome,
    message,
    snapshotId: backup?.snapshotId ?? null,
    stats: backup?.stats ?? null,
    fileErrors: backup?.fileErrors ?? [],
    exitCode: result?.exitCode ?? null,
  });
  log[LOG_LEVEL[outcomeTone(outcome)]](`${meta.kind} ${outcome}: ${message}${backup?.snapshotId ? ` (snapshot ${backup.snapshotId.slice(0, 8)})` : ''}`);
  deps.onFinished(record);
  deps.onChange();
  return { record, result };
}

const LOG_LEVEL = { ok: 'info', warn: 'warn', bad: 'error' } as const;

/** How often a running run's "last seen" time is written (a crash's end time is at most this far off). */
const TOUCH_EVERY_MS = 10_000;

function control(deps: TrackerDeps, runId: string, signal: AbortSignal, lowPriority: boolean, opts: TrackOptions): RunControl {
  const { restic } = deps.config;
  const log = deps.logs.forRun(runId);
  let lastTouch = 0;
  const alive = (): void => {
    const now = Date.now();
    if (now - lastTouch < TOUCH_EVERY_MS) return;
    lastTouch = now;
    deps.history.touch(runId);
  };
  return {
    signal,
    timeoutMs: opts.timeoutMs ?? (restic.runTimeoutMs || undefined),
    stallTimeoutMs: restic.stallTimeoutMs || undefined,
    cancelGraceMs: opts.cancelGraceMs ?? restic.cancelGraceMs,
    lowPriority,
    onSpawn: opts.onSpawn,
    onEvent: (e) => {
      opts.tap?.(e);
      alive();
      if (e.type === 'progress') {
        const info = deps.running.progress(runId, e.progress);
        if (info) deps.onProgress(info);
      } else if (e.type === 'file-error') log.warn(`cannot read ${e.error.item}: ${e.error.message}`);
      else log[e.level](e.line);
    },
  };
}
