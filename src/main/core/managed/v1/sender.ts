import type { Logger } from '../../log/logger.js';
import { Backoff, OUTBOX_BACKOFF, sleep } from '../backoff.js';
import type { CallResult, OrchestratorClient } from './client.js';
import type { Failpoint } from './failpoints.js';
import { RING_LINES } from './log-spool.js';
import type { Link } from './link.js';
import type { Outbox, StatusRow } from './outbox.js';
import type { Tunables } from './types.js';

/** What the sender tells the agent about a lease after a server answer. */
export type LeaseSignal = 'cancel' | 'superseded' | 'deleted';

/** Dependencies of `OutboxSender`. */
export interface SenderDeps {
  readonly client: OrchestratorClient;
  readonly outbox: Outbox;
  readonly link: Link;
  readonly tunables: () => Tunables;
  readonly log: Logger;
  readonly onLease: (leaseId: string, signal: LeaseSignal) => void;
  /** A 401/403/410/426: the credential procedure runs elsewhere. */
  readonly onAuthProblem: (r: Extract<CallResult<unknown>, { ok: false }>) => void;
  /** Crash points of the fault suite (`mid_log_batch`). */
  readonly failpoint?: Failpoint;
}

/**
 * Drains the outbox: statuses (terminal first) then log batches, one batch in flight per stream, at most
 * `drain_max_rps` requests per second, with full-jitter backoff on transient failures. Pauses while offline
 * or while credentials are in trouble.
 */
export class OutboxSender {
  readonly #backoff = new Backoff(OUTBOX_BACKOFF);
  readonly #batchLines = new Map<string, number>();
  /** Per lease, for the progress interval (§5.5.5): the last state the server acked, the last report tried and when. */
  readonly #lastStatus = new Map<string, { acked: string | null; seq: number; at: number }>();
  #lastSend = 0;

  constructor(private readonly d: SenderDeps) {}

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const l = this.d.link;
      if (l.offline || l.auth !== 'ok') {
        await l.wait(5000, signal);
        continue;
      }
      const sent = await this.drainOnce(signal);
      if (sent === 'failed') continue;
      if (sent === 'idle') await l.wait(this.d.tunables().log_flush_interval_ms, signal);
    }
  }

  /** Sends until the outbox is empty or a call fails. Returns `idle` when nothing was left. */
  async drainOnce(signal: AbortSignal): Promise<'idle' | 'sent' | 'failed'> {
    let any = false;
    for (const row of this.d.outbox.pendingStatuses(20)) {
      if (signal.aborted) return 'failed';
      if (this.#tooSoon(row)) continue;
      await this.#pace(signal);
      const last = this.#lastStatus.get(row.lease_id);
      this.#lastStatus.set(row.lease_id, { acked: last?.acked ?? null, seq: row.status_seq, at: performance.now() });
      const doc = JSON.parse(row.body_json) as { lease_id: string; status_seq: number };
      const r = this.d.link.observe(await this.d.client.status(row.task_id, doc, signal));
      any = true;
      if (r.ok) {
        this.#backoff.succeed();
        this.d.outbox.ackStatus(row.lease_id, row.status_seq);
        if (row.terminal) this.#lastStatus.delete(row.lease_id);
        else this.#lastStatus.set(row.lease_id, { acked: row.state, seq: row.status_seq, at: this.#lastStatus.get(row.lease_id)?.at ?? 0 });
        const b = r.body;
        if (b && (b.superseded || b.directive === 'stop')) this.d.onLease(row.lease_id, 'superseded');
        else if (b?.cancel_requested) this.d.onLease(row.lease_id, 'cancel');
        continue;
      }
      if (
        !(await this.#handleFailure(r, signal, `status ${row.lease_id}#${row.status_seq}`, () => {
          if (r.kind === 'not_found') {
            this.d.onLease(row.lease_id, 'deleted');
            this.d.outbox.dropLease(row.lease_id, true);
            return true;
          }
          if (r.kind === 'conflict' && r.code === 'lease_superseded') {
            this.d.outbox.ackStatus(row.lease_id, row.status_seq);
            this.d.onLease(row.lease_id, 'superseded');
            return true;
          }
          if (r.kind === 'conflict' && r.code === 'task_cancelled') {
            this.d.outbox.ackStatus(row.lease_id, row.status_seq);
            this.d.onLease(row.lease_id, 'cancel');
            return true;
          }
          this.d.outbox.deadLetter('status', row.body_json, r.status, r.problem);
          this.d.outbox.ackStatus(row.lease_id, row.status_seq);
          return true;
        }))
      )
        return 'failed';
    }
    for (const s of this.d.outbox.pendingStreams()) {
      if (signal.aborted) return 'failed';
      if (s.truncated === 1) {
        // Past the server's per-task cap only the tail matters: keep the last lines, send them with `final`.
        this.d.outbox.trimLogs(s.stream_id, RING_LINES);
        if (s.final_seq === null) continue;
      }
      const t = this.d.tunables();
      const maxLines = Math.min(this.#batchLines.get(s.stream_id) ?? t.log_batch_max_lines, t.log_batch_max_lines);
      const entries = this.d.outbox.logBatch(s.stream_id, maxLines, t.log_batch_max_bytes);
      const first = entries[0];
      if (!first) continue;
      await this.#pace(signal);
      const last = entries.at(-1)!;
      const final = s.final_seq !== null && last.seq >= s.final_seq;
      const r = this.d.link.observe(await this.d.client.logs({ stream: s.stream, first_seq: first.seq, entries, final }, s.stream_id, signal));
      any = true;
      const leaseId = s.stream.kind === 'task' ? s.stream.lease_id : null;
      if (r.ok && r.body) {
        this.#backoff.succeed();
        // The server stored the batch; a crash here resends it (same seqs, deduped by the server's hwm).
        this.d.failpoint?.('mid_log_batch');
        this.d.outbox.ackLogs(s.stream_id, r.body.ack_seq);
        // Past the per-task cap: keep only the tail, sent with `final` when the attempt ends (spec §5.6).
        if (r.body.truncated) this.d.outbox.truncateLogs(s.stream_id, RING_LINES);
        // A batch halved after a 413 grows back once batches get through again.
        const halved = this.#batchLines.get(s.stream_id);
        if (halved !== undefined) this.#batchLines.set(s.stream_id, Math.min(t.log_batch_max_lines, halved * 2));
        if (r.body.cancel_requested && leaseId) this.d.onLease(leaseId, 'cancel');
        continue;
      }
      if (r.ok) continue;
      if (
        !(await this.#handleFailure(r, signal, `logs ${s.stream_id}@${first.seq}`, () => {
          if (r.kind === 'conflict' && r.code === 'log_gap' && r.problem?.expected_seq != null) {
            if (!this.d.outbox.rewindLogs(s.stream_id, r.problem.expected_seq).ok) {
              this.d.log.error(`log stream ${s.stream_id}: server expects seq ${r.problem.expected_seq}, which is no longer spooled; stream closed`);
              this.d.outbox.deadLetter('logs', JSON.stringify({ stream_id: s.stream_id, expected_seq: r.problem.expected_seq }), r.status, r.problem);
              this.d.outbox.truncateLogs(s.stream_id);
            }
            return true;
          }
          if (r.kind === 'too_large') {
            this.#batchLines.set(s.stream_id, Math.max(1, Math.floor(entries.length / 2)));
            if (entries.length === 1) {
              this.d.outbox.deadLetter('logs', JSON.stringify(first).slice(0, 4096), r.status, r.problem);
              this.d.outbox.shrinkLogEntry(s.stream_id, first.seq);
            }
            return true;
          }
          if (r.kind === 'not_found') {
            if (leaseId) this.d.onLease(leaseId, 'deleted');
            this.d.outbox.truncateLogs(s.stream_id);
            return true;
          }
          this.d.outbox.deadLetter('logs', JSON.stringify({ stream: s.stream, first_seq: first.seq, last_seq: last.seq }), r.status, r.problem);
          this.d.outbox.truncateLogs(s.stream_id);
          return true;
        }))
      )
        return 'failed';
    }
    return any ? 'sent' : 'idle';
  }

  /** Handles a failed call: true = handled, keep draining; false = back off. */
  async #handleFailure(r: Extract<CallResult<unknown>, { ok: false }>, signal: AbortSignal, what: string, handle: () => boolean): Promise<boolean> {
    switch (r.kind) {
      case 'auth':
      case 'forbidden':
      case 'gone':
      case 'upgrade_required':
        this.d.onAuthProblem(r);
        return false;
      case 'transient':
      case 'overload': {
        const delay = this.#backoff.fail({ offline: this.d.link.offline, retryAfterMs: r.retryAfterMs });
        this.d.log.warn(`orchestrator: ${what} failed (${r.message}); retrying in ${Math.round(delay / 1000)} s`);
        // A plain sleep: new outbox data must not cut a Retry-After short.
        await sleep(delay, signal);
        return false;
      }
      case 'conflict':
        if (r.code === 'idempotency_in_flight') {
          await sleep(500 + this.#backoff.fail(), signal);
          return false;
        }
        break;
      default:
        break;
    }
    this.d.log.warn(`orchestrator: ${what}: ${r.message}`);
    return handle();
  }

  /**
   * A progress report (same state as the last one sent for its lease) waits until `progress_interval_s` has
   * passed since the last report was put on the wire, so the first progress after `running` and reports
   * that waited in the outbox keep the interval too. Terminal reports, state changes (a state the server has not
   * acked yet) and a resend of the same report are never held.
   */
  #tooSoon(row: StatusRow): boolean {
    const last = this.#lastStatus.get(row.lease_id);
    if (row.terminal || !last || last.acked !== row.state || last.seq === row.status_seq) return false;
    return performance.now() - last.at < this.d.tunables().progress_interval_s * 1000;
  }

  async #pace(signal: AbortSignal): Promise<void> {
    const gap = 1000 / Math.max(0.1, this.d.tunables().drain_max_rps);
    const wait = this.#lastSend + gap - performance.now();
    if (wait > 0) await sleep(wait, signal);
    this.#lastSend = performance.now();
  }
}
