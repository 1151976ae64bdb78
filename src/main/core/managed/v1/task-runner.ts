import type { Progress } from '../../../../shared/model/run.js';
import type { Logger } from '../../log/logger.js';
import { setLongTimeout } from '../../time/timers.js';
import { Backoff, OUTBOX_BACKOFF, sleep } from '../backoff.js';
import type { OrchestratorClient } from './client.js';
import type { Failpoint } from './failpoints.js';
import type { Link } from './link.js';
import type { LogSpool } from './log-spool.js';
import type { LogStream, Outbox } from './outbox.js';
import { mapOutcome, paramsWithoutSecrets, type StopReason } from './tasks.js';
import type { ExecutionResult } from '../types.js';
import type { LogLine, TaskExecutor, Tunables, ValidatedTask } from './types.js';

/** Dependencies shared by every task run. */
export interface RunnerDeps {
  readonly client: OrchestratorClient;
  readonly outbox: Outbox;
  readonly link: Link;
  readonly spool: LogSpool;
  readonly executor: TaskExecutor;
  readonly tunables: () => Tunables;
  readonly failpoint: Failpoint;
  readonly log: Logger;
  /** New status or log data is in the outbox. */
  readonly kick: () => void;
  /** The orchestrator's latest measure of our wall-clock skew (ms), null when unknown. */
  readonly clockSkewMs?: () => number | null;
}

/** `forget` is refused above this wall-clock skew: retention decisions depend on snapshot times (spec §12.3, 13). */
export const FORGET_MAX_SKEW_MS = 3_600_000;

type Phase = 'claiming' | 'claimed' | 'running' | 'cancelling' | 'done';

/** One attempt on this agent: claim → run restic → terminal report (spec §5.5, §11). */
export class ActiveTask {
  phase: Phase = 'claiming';
  seq = 1;
  readonly #abort = new AbortController();
  #stop: StopReason = null;
  readonly #t0 = performance.now();
  readonly #claimedAt = new Date().toISOString();
  #startedAt: string | null = null;
  #lastProgressAt = 0;
  #progress: Progress | null = null;
  readonly stream: LogStream;

  constructor(
    readonly task: ValidatedTask,
    private readonly d: RunnerDeps,
  ) {
    this.stream = { kind: 'task', task_id: task.taskId, lease_id: task.leaseId };
  }

  get leaseId(): string {
    return this.task.leaseId;
  }

  /** Heartbeat `running` entry. */
  runningEntry() {
    return {
      task_id: this.task.taskId,
      lease_id: this.task.leaseId,
      attempt: this.task.attempt,
      state: this.phase === 'claiming' ? 'claiming' : this.phase,
      status_seq: this.seq,
      log_seq: this.d.outbox.lastLogSeq(this.task.leaseId),
      elapsed_s: Math.round((performance.now() - this.#t0) / 1000),
    };
  }

  /** Asks restic to stop (SIGINT → grace → SIGKILL in the executor). The first reason wins. */
  requestStop(reason: Exclude<StopReason, null>): void {
    if (this.phase === 'done') return;
    if (!this.#stop) this.#stop = reason;
    if (this.phase === 'running' && reason !== 'superseded') {
      this.phase = 'cancelling';
      this.#report('cancelling');
    }
    this.#abort.abort(reason);
  }

  /** Claims, runs and reports. Resolves when the attempt is over locally. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      if (!(await this.#claim(signal))) return;
      await this.#execute();
    } finally {
      this.phase = 'done';
    }
  }

  async #claim(signal: AbortSignal): Promise<boolean> {
    const t = this.task;
    const doc = this.#doc('claimed', { log_seq: 0 });
    this.d.outbox.recordOffer(
      {
        lease_id: t.leaseId,
        task_id: t.taskId,
        attempt: t.attempt,
        type: t.type,
        state: 'claimed',
        claim_acked: 0,
        status_seq: 1,
        log_seq: 0,
        claimed_at: this.#claimedAt,
        cancel_grace_s: Math.round(t.cancelGraceS),
        params_json: paramsWithoutSecrets(t),
      },
      doc,
    );
    this.d.failpoint('after_claim_persisted');
    const backoff = new Backoff(OUTBOX_BACKOFF);
    // Past this, the offer is surely gone; if the claim landed, the server sees the lease missing from heartbeats.
    const giveUpAt = performance.now() + (t.offerExpiresInS + t.leaseTtlS) * 1000;
    for (;;) {
      if (signal.aborted || this.#stop || performance.now() > giveUpAt) {
        this.d.outbox.dropLease(t.leaseId);
        return false;
      }
      const r = this.d.link.observe(await this.d.client.status(t.taskId, doc, signal));
      if (r.ok) {
        if (r.body?.superseded || r.body?.directive === 'stop') {
          this.d.outbox.dropLease(t.leaseId);
          return false;
        }
        this.d.outbox.claimAcked(t.leaseId);
        this.phase = 'claimed';
        this.d.failpoint('after_claim_acked');
        if (r.body?.cancel_requested) this.#stop = 'cancel';
        return true;
      }
      if (r.kind === 'conflict' && r.code === 'idempotency_in_flight') {
        await sleep(500 + backoff.fail(), signal);
        continue;
      }
      if (r.kind === 'transient' || r.kind === 'overload' || r.kind === 'auth') {
        const delay = backoff.fail({ offline: this.d.link.offline, retryAfterMs: r.retryAfterMs });
        this.d.log.warn(`orchestrator: claim of ${t.taskId} failed (${r.message}); retrying in ${Math.round(delay / 1000)} s`);
        await sleep(delay, signal);
        continue;
      }
      // 409 offer_expired / lease_superseded / task_cancelled, 404, 400…: never start restic.
      this.d.log.info(`orchestrator: claim of ${t.taskId} refused (${r.message}); not running it`);
      if (r.kind === 'bad_request') this.d.outbox.deadLetter('claim', JSON.stringify(doc), r.status, r.problem);
      // Keep the journal row (state `dropped`): the same offer delivered again must not be claimed again.
      this.d.outbox.dropLease(t.leaseId, true);
      return false;
    }
  }

  async #execute(): Promise<void> {
    const t = this.task;
    this.#startedAt = new Date().toISOString();
    if (this.#stop) return this.#finish({ outcome: 'cancelled', exitCode: null, message: 'cancelled before start', snapshotId: null, stats: null });
    const skew = this.d.clockSkewMs?.() ?? null;
    if (t.type === 'forget' && skew !== null && Math.abs(skew) > FORGET_MAX_SKEW_MS) {
      const why = `refusing to forget: this machine's clock is off by ${Math.round(skew / 60_000)} min (more than 1 h) and retention depends on snapshot times; fix the clock (NTP)`;
      this.d.log.warn(`task ${t.taskId}: ${why}`);
      return this.#finish({ outcome: 'config-error', exitCode: null, message: why, snapshotId: null, stats: null }, { code: 'clock_skew', retryable: true });
    }
    this.phase = 'running';
    this.#report('running');
    // The interval also holds between `running` and the first progress report.
    this.#lastProgressAt = performance.now();
    const line = (l: LogLine) => this.d.spool.add(t.leaseId, this.stream, l);
    const timer = setLongTimeout(() => this.requestStop('timeout'), t.maxRuntimeS * 1000);
    let result: ExecutionResult;
    try {
      let snap: string | null = null;
      // Crash/lost retry: a snapshot tagged task=<id> means the earlier attempt committed (spec §7.3 step 4).
      if (t.type === 'backup' && t.reconcileTag) snap = await this.d.executor.findSnapshotForTask(t);
      if (snap) {
        line({ level: 'info', src: 'agent', msg: `reconciled: snapshot ${snap} already committed by an earlier attempt; not backing up again` });
        result = { outcome: 'success', exitCode: 0, message: 'reconciled with an existing snapshot', snapshotId: snap, stats: null };
      } else {
        const ctl = {
          signal: this.#abort.signal,
          onProgress: (p: Progress) => this.#onProgress(p),
          onLog: line,
          onSpawn: (pid: number, startTime: string | null) => {
            this.d.outbox.putStatus(t.leaseId, t.taskId, { status_seq: this.seq, state: this.phase }, { resticPid: pid, resticStartTime: startTime });
            this.d.failpoint('after_restic_spawn');
          },
        };
        result = await this.d.executor.execute(t, ctl);
      }
    } catch (e) {
      result = { outcome: 'crash', exitCode: null, message: `executor error: ${(e as Error).message}`, snapshotId: null, stats: null };
    } finally {
      timer.cancel();
    }
    this.d.failpoint('after_restic_exit_before_persist');
    this.#finish(result);
  }

  #finish(r: ExecutionResult, error?: { code: string; retryable: boolean }): void {
    const t = this.task;
    const mapped = mapOutcome(r, this.#stop);
    const m = error ? { ...mapped, error: { code: error.code, message: r.message, retryable: error.retryable } } : mapped;
    this.d.spool.add(t.leaseId, this.stream, { level: m.state === 'succeeded' ? 'info' : 'warn', src: 'agent', msg: `${t.type} ${m.state}: ${r.message}` });
    const logSeq = this.d.spool.flush(t.leaseId, { final: true });
    this.d.outbox.setLogFinal(t.leaseId, this.stream, logSeq);
    const s = r.stats;
    this.#report(m.state, {
      finished_at: new Date().toISOString(),
      log_seq: logSeq,
      log_final: true,
      result: {
        exit_code: r.exitCode,
        incomplete: m.incomplete,
        restic:
          r.snapshotId || s
            ? {
                snapshot_id: r.snapshotId,
                files_new: s?.filesNew ?? null,
                files_changed: s?.filesChanged ?? null,
                data_added: s?.dataAdded ?? null,
                total_bytes_processed: s?.totalBytesProcessed ?? null,
                total_duration: s?.totalDurationSeconds ?? null,
              }
            : null,
        error: m.error,
      },
    });
    this.d.failpoint('after_terminal_persisted');
  }

  #onProgress(p: Progress): void {
    this.#progress = p;
    const now = performance.now();
    if (now - this.#lastProgressAt < this.d.tunables().progress_interval_s * 1000) return;
    this.#lastProgressAt = now;
    this.#report(this.phase === 'cancelling' ? 'cancelling' : 'running');
  }

  /** Writes the next status snapshot to the outbox (write before send) and wakes the sender. */
  #report(state: string, extra: Record<string, unknown> = {}): void {
    this.seq += 1;
    const doc = this.#doc(state, extra);
    this.d.outbox.putStatus(this.task.leaseId, this.task.taskId, doc);
    this.d.kick();
  }

  #doc(state: string, extra: Record<string, unknown>) {
    const p = this.#progress;
    return {
      lease_id: this.task.leaseId,
      attempt: this.task.attempt,
      status_seq: this.seq,
      state,
      claimed_at: this.#claimedAt,
      started_at: this.#startedAt,
      finished_at: null,
      elapsed_ms: Math.round(performance.now() - this.#t0),
      progress: p
        ? {
            percent: p.percent / 100,
            bytes_done: p.bytesDone,
            total_bytes: p.totalBytes,
            files_done: p.filesDone,
            total_files: p.totalFiles,
            eta_s: p.etaSeconds,
            error_count: p.errorCount,
          }
        : null,
      log_seq: this.d.outbox.lastLogSeq(this.task.leaseId),
      result: null,
      ...extra,
    };
  }
}
