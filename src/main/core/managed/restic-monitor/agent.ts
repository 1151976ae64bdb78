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
import { RmConnection } from './connection.js';
import { recoverInterrupted, resolveTaskRepository } from './recovery.js';
import { drainResults } from './results.js';
import type { ResolveRepository, RmExecTask, RmTaskExecutor } from './types.js';
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
  readonly #conn: RmConnection;
  readonly #log: Logger;
  readonly #hbWake = new Wakeable();
  readonly #mainWake = new Wakeable();
  readonly #outWake = new Wakeable();
  #stopped = true;
  #draining = false;
  #loops: Promise<void>[] = [];
  #pollEveryMs: number;
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
    this.#conn = new RmConnection(
      this.api,
      this.store,
      opts,
      this.#log,
      (ms) => this.#mainWake.wait(ms),
      () => this.#stopped,
    );
    this.#pollEveryMs = opts.pollIntervalMs ?? 30_000;
  }

  /** Recovers interrupted tasks, then starts the heartbeat, work and outbox loops. */
  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#stopped = false;
    for (const w of [this.#hbWake, this.#mainWake, this.#outWake]) w.open();
    await recoverInterrupted(this.store, this.opts.executor, this.opts.resolveRepository, this.#log);
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
      agentId: this.#conn.agentId,
      connected: this.#conn.connected,
      lastError: this.#conn.lastError,
      running: r ? { taskId: r.taskId, type: r.type, progress: r.progress } : null,
      claimed: this.store.claimed().length,
      outbox: this.store.outboxSize(),
    };
  }

  // ---- heartbeat ----------------------------------------------------------------------------------------

  /** Draining: no new tasks are polled or started; the running one goes on. */
  drain(on: boolean): void {
    this.#draining = on;
    if (!on) this.#mainWake.wake();
  }

  /** Registers if needed and sends one heartbeat, nothing else (the update health check). Throws why it failed. */
  async probe(): Promise<void> {
    try {
      const id = this.#conn.agentId ?? (await this.#conn.registerOnce().catch(failed('cannot register with the orchestrator')));
      await this.api.heartbeat(id, await this.#heartbeatBody()).catch(failed('the heartbeat failed'));
    } finally {
      await this.api.close().catch(() => undefined);
    }
  }

  async #heartbeatBody(): Promise<Parameters<RmApiClient['heartbeat']>[1]> {
    const running = this.#running?.type === 'backup';
    return {
      version: this.opts.agentVersion.slice(0, 50),
      os: platform().slice(0, 50),
      uptimeSeconds: Math.floor((Date.now() - UPTIME_START) / 1000),
      disks: (await diskUsage(this.opts.diskPaths ?? [])).map((d) => ({
        mountPath: d.path.slice(0, 255),
        freeBytes: d.freeBytes,
        totalBytes: d.totalBytes,
      })),
      lastBackupStatus: running ? 'running' : (this.store.lastBackupResult() ?? 'none'),
    };
  }

  async #heartbeatLoop(): Promise<void> {
    const every = heartbeatIntervalMs(this.opts.heartbeatIntervalMs);
    while (!this.#stopped) {
      const id = await this.#conn.ensureAgentId();
      if (!id || this.#stopped) break;
      try {
        const res = await this.api.heartbeat(id, await this.#heartbeatBody());
        this.#conn.ok();
        if (this.opts.pollIntervalMs === undefined && res.nextTaskCheckAfterSeconds) {
          const next = Math.min(300, Math.max(1, res.nextTaskCheckAfterSeconds)) * 1000;
          if (next !== this.#pollEveryMs) {
            this.#pollEveryMs = next;
            this.#mainWake.wake(); // the poll loop may be sleeping out the old interval
          }
        }
      } catch (e) {
        if (e instanceof RmHttpError && e.agentNotFound) {
          this.#conn.forget(id);
          continue;
        }
        this.#conn.fail('heartbeat', e);
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
      if (this.#draining) {
        await this.#mainWake.wait(60_000);
        continue;
      }
      const due = this.store.claimed().find((r) => (r.notBefore ?? 0) <= now);
      if (due) {
        await this.#runClaimed(due);
        continue;
      }
      if (now - lastPoll >= this.#pollEveryMs) {
        const id = await this.#conn.ensureAgentId();
        if (!id || this.#stopped) break;
        try {
          const raw = await this.api.pollTasks(id, 1);
          lastPoll = Date.now();
          failures = 0;
          this.#conn.ok();
          const s = ingestTasks(this.store, raw, Date.now(), this.#log);
          if (s.rejected + s.rereported > 0) this.#outWake.wake();
          if (s.claimed > 0) lastPoll = 0; // a backlog after downtime: fetch the next one right after this
          continue;
        } catch (e) {
          this.#conn.fail('poll', e);
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
      access = await resolveTaskRepository(this.opts.resolveRepository, task);
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
      const id = await this.#conn.ensureAgentId();
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
        this.#conn.fail('ack', e);
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

  // ---- outbox ---------------------------------------------------------------------------------------------

  async #outboxLoop(): Promise<void> {
    while (!this.#stopped) {
      await drainResults(this.api, this.store, this.#conn, this.#log, () => this.#stopped);
      const next = this.store.outboxNextDue();
      await this.#outWake.wait(next === null ? 60_000 : next - Date.now());
    }
  }
}

/** Rethrows with what failed in front (redacted: a server's answer may echo a credential). */
function failed(what: string): (e: unknown) => never {
  return (e) => {
    throw new Error(`${what}: ${redact(e instanceof Error ? e.message : String(e))}`);
  };
}
