import { arch, platform } from 'node:os';
import type { Progress } from '../../../../shared/model/run.js';
import type { RepoAccess } from '../../config/types.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { redact } from '../../log/redact.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { StateDb } from '../../state/db.js';
import { RmApiClient, RmHttpError, type RmAuth } from './api.js';
import { buildResult, failureResult, heartbeatIntervalMs, summaryLines } from './rules.js';
import { ingestTasks } from './ingest.js';
import { LogTail } from './log-tail.js';
import { RmStore, type RmTaskRow } from './store.js';
import type { ResolveRepository, RmExecTask, RmTask, RmTaskExecutor } from './types.js';
import { backoffDelay, OUTBOX_BACKOFF, POLL_BACKOFF } from '../backoff.js';
import { diskUsage } from '../disk-usage.js';
import { Wakeable } from '../wakeable.js';

/** Everything the restic-monitor loop needs; the agent core builds it from the config. */
export interface RmAgentOptions {
  readonly url: string;
  /** Opened with `rmMigrations` (the agent's state DB). */
  readonly db: StateDb;
  readonly secrets: SecretStore;
  /** Default: Bearer token from this orchestrator's `current` slot (`rmTokenAccount`); null = send no credential. */
  readonly auth?: RmAuth | null;
  readonly insecureLoopback?: boolean;
  readonly ca?: string | null;
  readonly executor: RmTaskExecutor;
  /** Local credentials per repository (the server never sends any). */
  readonly resolveRepository: ResolveRepository;
  readonly hostname: string;
  readonly agentVersion: string;
  readonly logger?: Logger;
  /** ≤ 30 s (clamped). */
  readonly heartbeatIntervalMs?: number;
  /** Overrides the server's `nextTaskCheckAfterSeconds` (tests, operators). */
  readonly pollIntervalMs?: number;
  /** Paths whose file systems are reported as `disks` in the heartbeat. */
  readonly diskPaths?: ReadonlyArray<string>;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly requestTimeoutMs?: number;
  /** Called after each 2xx answer: the stored credential works. */
  readonly onAuthenticated?: () => void;
}

/** What the UI/status shows about the dialect. */
export interface RmAgentStatus {
  readonly agentId: string | null;
  readonly connected: boolean;
  readonly lastError: string | null;
  readonly running: { readonly taskId: string; readonly type: string; readonly progress: Progress | null } | null;
  readonly claimed: number;
  readonly outbox: number;
}

const UPTIME_START = Date.now();

/**
 * The agent side of the restic-monitor dialect: register by hostname, heartbeat ≤ 30 s, poll-and-claim, ack,
 * run one task at a time, report through a durable outbox; compensates for what the server lacks
 * (docs/spec/restic-monitor-api.md, "What the server does NOT do").
 */
export class RmAgent {
  readonly api: RmApiClient;
  readonly store: RmStore;
  readonly #log: Logger;
  readonly #hbWake = new Wakeable();
  readonly #mainWake = new Wakeable();
  readonly #outWake = new Wakeable();
  #stopped = true;
  #loops: Promise<void>[] = [];
  #agentId: string | null = null;
  #registering: Promise<string | null> | null = null;
  #pollEveryMs: number;
  #connected = false;
  #lastError: string | null = null;
  #running: { taskId: string; type: string; progress: Progress | null; abort: AbortController } | null = null;

  constructor(private readonly opts: RmAgentOptions) {
    this.#log = opts.logger ?? silentLogger;
    this.api = new RmApiClient({
      baseUrl: opts.url,
      secrets: opts.secrets,
      ...(opts.auth !== undefined ? { auth: opts.auth } : {}),
      insecureLoopback: opts.insecureLoopback ?? false,
      ca: opts.ca ?? null,
      timeoutMs: opts.requestTimeoutMs ?? 30_000,
      userAgent: `restic-agent/${opts.agentVersion} (${platform()}; ${arch()})`,
    });
    this.store = new RmStore(opts.db);
    this.#pollEveryMs = opts.pollIntervalMs ?? 30_000;
  }

  /** Recovers interrupted tasks, then starts the heartbeat, work and outbox loops. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    for (const w of [this.#hbWake, this.#mainWake, this.#outWake]) w.open();
    this.#agentId = this.store.agentId(this.api.baseUrl);
    await this.#recoverInterrupted();
    this.#loops = [this.#heartbeatLoop(), this.#mainLoop(), this.#outboxLoop()];
  }

  /** Stops the loops; a running restic is cancelled and its result queued (delivered after the next start). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running?.abort.abort(new Error('agent stopping'));
    for (const w of [this.#hbWake, this.#mainWake, this.#outWake]) w.close();
    await Promise.allSettled(this.#loops);
    await this.api.close().catch(() => undefined);
  }

  status(): RmAgentStatus {
    const r = this.#running;
    return {
      agentId: this.#agentId,
      connected: this.#connected,
      lastError: this.#lastError,
      running: r ? { taskId: r.taskId, type: r.type, progress: r.progress } : null,
      claimed: this.store.claimed().length,
      outbox: this.store.outboxSize(),
    };
  }

  // ---- registration -------------------------------------------------------------------------------------

  async #ensureAgentId(): Promise<string | null> {
    if (this.#agentId) return this.#agentId;
    this.#registering ??= this.#register().finally(() => (this.#registering = null));
    return this.#registering;
  }

  async #register(): Promise<string | null> {
    for (let failures = 0; !this.#stopped; failures++) {
      try {
        const { agentId, created } = await this.api.register({
          hostname: this.opts.hostname.slice(0, 255),
          os: platform().slice(0, 50),
          arch: arch().slice(0, 50),
          version: this.opts.agentVersion.slice(0, 50),
          metadata: { agent: 'restic-agent', ...(this.opts.metadata ?? {}) },
        });
        this.store.setAgentId(this.api.baseUrl, agentId);
        this.#agentId = agentId;
        this.#ok();
        this.#log.info(`restic-monitor: ${created ? 'registered' : 're-registered'} as ${agentId}`, { hostname: this.opts.hostname });
        return agentId;
      } catch (e) {
        this.#fail('register', e);
        await this.#mainWake.wait(backoffDelay(OUTBOX_BACKOFF, failures));
      }
    }
    return null;
  }

  /** The server no longer knows `staleId` (its tenant changed, or the agent row is gone): register again. */
  #forget(staleId: string): void {
    if (this.#agentId === staleId) {
      this.#log.warn('restic-monitor: server answered "Agent not found"; registering again', { agentId: staleId });
      this.#agentId = null;
    }
  }

  // ---- heartbeat ----------------------------------------------------------------------------------------

  async #heartbeatLoop(): Promise<void> {
    const every = heartbeatIntervalMs(this.opts.heartbeatIntervalMs);
    while (!this.#stopped) {
      const id = await this.#ensureAgentId();
      if (!id || this.#stopped) break;
      try {
        const running = this.#running?.type === 'backup';
        const res = await this.api.heartbeat(id, {
          version: this.opts.agentVersion.slice(0, 50),
          os: platform().slice(0, 50),
          uptimeSeconds: Math.floor((Date.now() - UPTIME_START) / 1000),
          disks: (await diskUsage(this.opts.diskPaths ?? [])).map((d) => ({
            mountPath: d.path.slice(0, 255),
            freeBytes: d.freeBytes,
            totalBytes: d.totalBytes,
          })),
          lastBackupStatus: running ? 'running' : (this.store.lastBackupResult() ?? 'none'),
        });
        this.#ok();
        if (this.opts.pollIntervalMs === undefined && res.nextTaskCheckAfterSeconds) {
          const next = Math.min(300, Math.max(1, res.nextTaskCheckAfterSeconds)) * 1000;
          if (next !== this.#pollEveryMs) {
            this.#pollEveryMs = next;
            this.#mainWake.wake(); // the poll loop may be sleeping out the old interval
          }
        }
      } catch (e) {
        if (e instanceof RmHttpError && e.agentNotFound) {
          this.#forget(id);
          continue;
        }
        this.#fail('heartbeat', e);
      }
      await this.#hbWake.wait(every);
    }
  }

  // ---- poll and run ---------------------------------------------------------------------------------------

  async #mainLoop(): Promise<void> {
    let lastPoll = 0;
    let failures = 0;
    while (!this.#stopped) {
      const now = Date.now();
      const due = this.store.claimed().find((r) => (r.notBefore ?? 0) <= now);
      if (due) {
        await this.#runClaimed(due);
        continue;
      }
      if (now - lastPoll >= this.#pollEveryMs) {
        const id = await this.#ensureAgentId();
        if (!id || this.#stopped) break;
        try {
          const raw = await this.api.pollTasks(id, 1);
          lastPoll = Date.now();
          failures = 0;
          this.#ok();
          const s = ingestTasks(this.store, raw, Date.now(), this.#log);
          if (s.rejected + s.rereported > 0) this.#outWake.wake();
          if (s.claimed > 0) lastPoll = 0; // a backlog after downtime: fetch the next one right after this
          continue;
        } catch (e) {
          this.#fail('poll', e);
          await this.#mainWake.wait(backoffDelay(POLL_BACKOFF, failures++));
          continue;
        }
      }
      const nextRetry = this.store.claimed()[0]?.notBefore ?? Infinity;
      await this.#mainWake.wait(Math.min(lastPoll + this.#pollEveryMs, nextRetry) - Date.now());
    }
  }

  async #runClaimed(row: RmTaskRow): Promise<void> {
    const task = row.task;
    if (!task) return this.store.markDropped(row.taskId, 'no task payload');
    let access: RepoAccess | null;
    let msg: string;
    try {
      access = (await this.opts.resolveRepository(task.repository)) ?? (await this.opts.resolveRepository(task.serverRepository));
      msg = `repository ${redact(task.repository)} not found in the agent config: add it under repositories: with its password`;
    } catch (e) {
      // A configured secret missing from the secret store: a fault of this machine, not of the task.
      access = null;
      msg = `local credentials for repository ${redact(task.repository)} not found: ${redact((e as Error).message)}`;
    }
    if (!access) {
      this.#log.error('restic-monitor: no usable local repository for the task', { taskId: task.id, repository: redact(task.repository), reason: msg });
      const log = `restic-agent ${this.opts.agentVersion} on ${this.opts.hostname}: ${task.type} task ${task.id} not started: ${msg}`;
      this.store.finish(
        { taskId: task.id, attempt: task.retryCount, policyId: task.policyId, taskType: task.type },
        failureResult({ ...task, taskType: task.type }, msg, log),
        Date.now(),
      );
      this.#outWake.wake();
      return;
    }
    if (!row.acked) {
      const id = await this.#ensureAgentId();
      if (!id) return;
      try {
        await this.api.ack(id, task.id);
        this.store.markAcked(task.id);
      } catch (e) {
        if (e instanceof RmHttpError && e.status === 404) {
          this.#log.warn('restic-monitor: ack → 404 Task not found; dropping the task', { taskId: task.id });
          this.store.markDropped(task.id, 'ack: task not found on the server');
          return;
        }
        this.#fail('ack', e);
        await this.#mainWake.wait(backoffDelay(OUTBOX_BACKOFF, 2)); // not started; try again
        return;
      }
    }
    await this.#execute({ ...task, access, reconcileTag: `task=${task.id}` });
  }

  async #execute(task: RmExecTask): Promise<void> {
    const started = Date.now();
    this.store.markRunning(task.id, started);
    const abort = new AbortController();
    this.#running = { taskId: task.id, type: task.type, progress: null, abort };
    const tail = new LogTail();
    this.#log.info(`restic-monitor: running ${task.type}`, { taskId: task.id, attempt: task.retryCount });
    let result;
    try {
      result = await this.opts.executor.execute(task, {
        signal: abort.signal,
        onProgress: (p) => {
          if (this.#running) this.#running.progress = p;
        },
        onLog: (line) => tail.push(redact(line.text)),
      });
    } catch (e) {
      result = { outcome: 'crash' as const, exitCode: null, message: `executor failed: ${(e as Error).message}`, snapshotId: null, stats: null };
    } finally {
      this.#running = null;
    }
    if (abort.signal.aborted && result.outcome !== 'success' && result.outcome !== 'partial') {
      result = { ...result, message: `interrupted: the agent stopped while restic was running (${result.message})` };
    }
    for (const line of summaryLines(task.type, result, Date.now() - started)) tail.push(line);
    this.store.finish(
      { taskId: task.id, attempt: task.retryCount, policyId: task.policyId, taskType: task.type },
      buildResult(task, result, Date.now() - started, tail.text()),
      Date.now(),
    );
    this.#log.info(`restic-monitor: ${task.type} finished: ${result.outcome}`, { taskId: task.id });
    this.#outWake.wake();
  }

  /** Tasks left `running` by a previous process: reconcile by tag (backup) or report as interrupted; never re-run. */
  async #recoverInterrupted(): Promise<void> {
    for (const row of this.store.running()) {
      const task: RmTask | null = row.task;
      const ids = { taskId: row.taskId, attempt: row.attempt, policyId: row.policyId, taskType: row.taskType };
      let snapshotId: string | null = null;
      if (task?.type === 'backup') {
        try {
          const access = (await this.opts.resolveRepository(task.repository)) ?? (await this.opts.resolveRepository(task.serverRepository));
          if (access) snapshotId = await this.opts.executor.findSnapshotForTask({ ...task, access, reconcileTag: `task=${task.id}` });
        } catch (e) {
          this.#log.warn('restic-monitor: could not look for the snapshot of an interrupted backup', { taskId: row.taskId, error: (e as Error).message });
        }
      }
      const note = 'restic-agent: the agent restarted while this task was running; it was not run again.';
      const body = snapshotId
        ? {
            taskId: row.taskId,
            policyId: row.policyId,
            taskType: row.taskType,
            status: 'success' as const,
            durationSeconds: 0,
            snapshotId,
            log: `${note} Its snapshot ${snapshotId} (tag task=${row.taskId}) was found in the repository.`,
          }
        : failureResult({ id: row.taskId, policyId: row.policyId, taskType: row.taskType }, 'interrupted: the agent restarted while restic was running', note);
      this.#log.warn('restic-monitor: reporting a task interrupted by a restart', { taskId: row.taskId, status: body.status });
      this.store.finish(ids, body, Date.now());
    }
  }

  // ---- outbox ---------------------------------------------------------------------------------------------

  async #outboxLoop(): Promise<void> {
    while (!this.#stopped) {
      await this.drainOutbox();
      const next = this.store.outboxNextDue();
      await this.#outWake.wait(next === null ? 60_000 : next - Date.now());
    }
  }

  /** Sends due results oldest first; stops at the first transient failure (the server is probably down). */
  async drainOutbox(): Promise<void> {
    for (const row of this.store.outboxDue(Date.now())) {
      if (this.#stopped) return;
      const id = await this.#ensureAgentId();
      if (!id) return;
      try {
        // Every task that reached the agent is acked before its result, whatever happened to it locally.
        if (this.store.task(row.taskId)?.acked === false) {
          await this.api.ack(id, row.taskId).catch((e: unknown) => {
            if (!(e instanceof RmHttpError && e.status === 404)) throw e;
          });
          this.store.markAcked(row.taskId);
        }
        await this.api.submitResult(id, row.body);
        this.store.delivered(row.id, row.taskId, row.attempt);
        this.#ok();
        this.#log.info('restic-monitor: result delivered', { taskId: row.taskId, status: row.body.status });
      } catch (e) {
        const err = e as Error;
        if (e instanceof RmHttpError && e.agentNotFound) {
          this.#forget(id);
          this.store.defer(row.id, Date.now(), err.message); // the server does not check task ownership: resend under the new id
          return;
        }
        // 400 = our body is wrong (a bug): keep it (never drop a result) but retry rarely.
        const permanent = e instanceof RmHttpError && e.status !== null && !e.transient;
        this.store.defer(row.id, Date.now() + (permanent ? 300_000 : backoffDelay(OUTBOX_BACKOFF, row.sends)), err.message);
        this.#fail('task-results', e);
        return;
      }
    }
  }

  #ok(): void {
    this.#connected = true;
    this.#lastError = null;
    this.opts.onAuthenticated?.();
  }

  #fail(what: string, e: unknown): void {
    const msg = redact(e instanceof Error ? e.message : String(e));
    if (e instanceof RmHttpError && e.status === null) this.#connected = false;
    if (msg !== this.#lastError) this.#log.warn(`restic-monitor: ${what} failed: ${msg}`);
    this.#lastError = msg;
  }
}
