import type { Migration, StateDb } from '../../state/db.js';

/** Schema of the managed-mode journal and outbox (spec §7.1); tables are prefixed `orch_`. */
export const orchestratorMigrations: ReadonlyArray<Migration> = [
  {
    id: 'orchestrator-001-outbox',
    sql: `
      CREATE TABLE orch_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE orch_journal (
        lease_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, attempt INTEGER NOT NULL, type TEXT NOT NULL,
        state TEXT NOT NULL, claim_acked INTEGER NOT NULL DEFAULT 0, status_seq INTEGER NOT NULL DEFAULT 0,
        log_seq INTEGER NOT NULL DEFAULT 0, restic_pid INTEGER, restic_start_time TEXT,
        claimed_at TEXT, started_at TEXT, finished_at TEXT, cancel_grace_s INTEGER NOT NULL DEFAULT 60,
        tag TEXT, params_json TEXT NOT NULL DEFAULT '{}', updated_at INTEGER NOT NULL);
      CREATE TABLE orch_status_outbox (
        lease_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, status_seq INTEGER NOT NULL, state TEXT NOT NULL,
        terminal INTEGER NOT NULL, body_json TEXT NOT NULL, created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE orch_log_outbox (
        stream_id TEXT NOT NULL, seq INTEGER NOT NULL, entry_json TEXT NOT NULL, bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL, PRIMARY KEY (stream_id, seq));
      CREATE TABLE orch_log_cursor (
        stream_id TEXT PRIMARY KEY, stream_json TEXT NOT NULL, next_seq INTEGER NOT NULL DEFAULT 1,
        acked_seq INTEGER NOT NULL DEFAULT 0, final_seq INTEGER, truncated INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE orch_dead_letter (
        id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body_json TEXT NOT NULL,
        http_status INTEGER, problem_json TEXT, created_at INTEGER NOT NULL);`,
  },
];

/** A journal row: one attempt (lease) the agent has seen. No secrets. */
export interface JournalRow {
  readonly lease_id: string;
  readonly task_id: string;
  readonly attempt: number;
  readonly type: string;
  readonly state: string;
  readonly claim_acked: number;
  readonly status_seq: number;
  readonly log_seq: number;
  readonly restic_pid: number | null;
  readonly restic_start_time: string | null;
  readonly claimed_at: string | null;
  readonly started_at: string | null;
  readonly cancel_grace_s: number;
  readonly params_json: string;
}

/** A status document waiting for the server's ack (the latest snapshot per lease). */
export interface StatusRow {
  readonly lease_id: string;
  readonly task_id: string;
  readonly status_seq: number;
  readonly state: string;
  readonly terminal: number;
  readonly body_json: string;
}

/** A log stream descriptor as sent in `stream`. */
export type LogStream = { kind: 'task'; task_id: string; lease_id: string } | { kind: 'agent'; id: string };

/** One spooled log entry (wire shape of `/logs` `entries[]`). */
export interface LogEntryWire {
  seq: number;
  ts: string;
  mono_ms: number;
  src: string;
  level: string;
  msg: string;
  data?: Readonly<Record<string, unknown>>;
  gap?: { dropped: number };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected']);
/** True for the agent-reported terminal states (absorbing per attempt). */
export const isTerminalState = (s: string): boolean => TERMINAL.has(s);

/**
 * The durable journal and outbox in the agent's SQLite state DB. Write before send, delete on ack; status
 * rows are never evicted, only log admission is throttled (by the caller, see `LogSpool`).
 */
export class Outbox {
  #logBytes: number;

  constructor(private readonly db: StateDb) {
    this.#logBytes = db.prepare<[], { b: number }>('SELECT COALESCE(SUM(bytes),0) AS b FROM orch_log_outbox').get()?.b ?? 0;
  }

  kvGet(key: string): string | null {
    return this.db.prepare<[string], { value: string }>('SELECT value FROM orch_kv WHERE key = ?').get(key)?.value ?? null;
  }

  kvSet(key: string, value: string): void {
    this.db.prepare('INSERT INTO orch_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  kvDelete(key: string): void {
    this.db.prepare('DELETE FROM orch_kv WHERE key = ?').run(key);
  }

  journal(leaseId: string): JournalRow | null {
    return this.db.prepare<[string], JournalRow>('SELECT * FROM orch_journal WHERE lease_id = ?').get(leaseId) ?? null;
  }

  /** Attempts in `claimed | running | cancelling` (crash recovery and heartbeat `running`). */
  activeJournal(): JournalRow[] {
    return this.db.prepare<[], JournalRow>("SELECT * FROM orch_journal WHERE state IN ('claimed','running','cancelling') ORDER BY updated_at").all();
  }

  /** Writes the journal row and the claim (or rejection) document in one transaction, before the request. */
  recordOffer(row: Omit<JournalRow, 'restic_pid' | 'restic_start_time' | 'started_at'>, doc: { status_seq: number; state: string }): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO orch_journal (lease_id, task_id, attempt, type, state, claim_acked, status_seq, log_seq,
          claimed_at, cancel_grace_s, params_json, updated_at)
        VALUES (@lease_id, @task_id, @attempt, @type, @state, @claim_acked, @status_seq, @log_seq, @claimed_at, @cancel_grace_s, @params_json, @now)`,
        )
        .run({ ...row, now: Date.now() });
      this.#upsertStatus(row.lease_id, row.task_id, doc);
    })();
  }

  /** Marks a claim acknowledged (200) and removes its outbox row. */
  claimAcked(leaseId: string): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE orch_journal SET claim_acked = 1, updated_at = ? WHERE lease_id = ?').run(Date.now(), leaseId);
      this.db.prepare('DELETE FROM orch_status_outbox WHERE lease_id = ? AND status_seq = 1').run(leaseId);
    })();
  }

  /**
   * Stores a newer status document for a lease (replacing an unsent non-terminal one, never a terminal) and
   * updates the journal in the same transaction.
   */
  putStatus(
    leaseId: string,
    taskId: string,
    doc: { status_seq: number; state: string; log_seq?: number; started_at?: string | null },
    extra: { resticPid?: number | null; resticStartTime?: string | null } = {},
  ): void {
    this.db.transaction(() => {
      this.#upsertStatus(leaseId, taskId, doc);
      this.db
        .prepare(
          `UPDATE orch_journal SET state = ?, status_seq = ?, log_seq = COALESCE(?, log_seq),
          started_at = COALESCE(?, started_at), restic_pid = COALESCE(?, restic_pid),
          restic_start_time = COALESCE(?, restic_start_time), updated_at = ? WHERE lease_id = ?`,
        )
        .run(
          doc.state,
          doc.status_seq,
          doc.log_seq ?? null,
          doc.started_at ?? null,
          extra.resticPid ?? null,
          extra.resticStartTime ?? null,
          Date.now(),
          leaseId,
        );
    })();
  }

  #upsertStatus(leaseId: string, taskId: string, doc: { status_seq: number; state: string }): void {
    const cur = this.db
      .prepare<[string], { terminal: number; status_seq: number }>('SELECT terminal, status_seq FROM orch_status_outbox WHERE lease_id = ?')
      .get(leaseId);
    if (cur && (cur.terminal === 1 || cur.status_seq >= doc.status_seq)) return;
    this.db
      .prepare(
        `INSERT INTO orch_status_outbox (lease_id, task_id, status_seq, state, terminal, body_json, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(lease_id) DO UPDATE SET status_seq = excluded.status_seq,
        state = excluded.state, terminal = excluded.terminal, body_json = excluded.body_json, attempts = 0`,
      )
      .run(leaseId, taskId, doc.status_seq, doc.state, isTerminalState(doc.state) ? 1 : 0, JSON.stringify(doc), Date.now());
  }

  /** Statuses to send, in drain order: terminal first, then transitions, oldest first. Claims in flight excluded. */
  pendingStatuses(limit = 50): StatusRow[] {
    return this.db
      .prepare<[number], StatusRow>(
        `SELECT s.* FROM orch_status_outbox s
        LEFT JOIN orch_journal j ON j.lease_id = s.lease_id
        WHERE NOT (s.state = 'claimed' AND COALESCE(j.claim_acked, 0) = 0)
        ORDER BY s.terminal DESC, s.created_at ASC LIMIT ?`,
      )
      .all(limit);
  }

  /** Leases whose report is still unsent: the agent holds them until the server has the final word (heartbeat `running`). */
  heldLeases(): Array<{ task_id: string; lease_id: string; attempt: number; state: string; status_seq: number; log_seq: number }> {
    return this.db
      .prepare<[], { task_id: string; lease_id: string; attempt: number; state: string; status_seq: number; log_seq: number }>(
        `
        SELECT s.task_id, s.lease_id, COALESCE(j.attempt, 1) AS attempt, s.state, s.status_seq, COALESCE(j.log_seq, 0) AS log_seq
        FROM orch_status_outbox s LEFT JOIN orch_journal j ON j.lease_id = s.lease_id WHERE s.state != 'rejected'`,
      )
      .all();
  }

  /** Deletes the status row if it still holds `seq` (a newer snapshot may have replaced it meanwhile). */
  ackStatus(leaseId: string, seq: number): void {
    this.db.prepare('DELETE FROM orch_status_outbox WHERE lease_id = ? AND status_seq <= ?').run(leaseId, seq);
  }

  /** Drops a lease's journal and outbox rows (claim never acked, or task deleted server-side). */
  dropLease(leaseId: string, keepJournal = false): void {
    this.db.transaction(() => {
      if (!keepJournal) this.db.prepare('DELETE FROM orch_journal WHERE lease_id = ?').run(leaseId);
      else this.db.prepare("UPDATE orch_journal SET state = 'dropped', updated_at = ? WHERE lease_id = ?").run(Date.now(), leaseId);
      this.db.prepare('DELETE FROM orch_status_outbox WHERE lease_id = ?').run(leaseId);
      this.#deleteLogs(leaseId, Number.MAX_SAFE_INTEGER);
      this.db.prepare('DELETE FROM orch_log_cursor WHERE stream_id = ?').run(leaseId);
    })();
  }

  /** Admits log entries to a stream: seqs are assigned here, in the same transaction (spec §5.6). */
  appendLogs(streamId: string, stream: LogStream, entries: ReadonlyArray<Omit<LogEntryWire, 'seq'>>): number {
    if (entries.length === 0) return this.lastLogSeq(streamId);
    return this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO orch_log_cursor (stream_id, stream_json) VALUES (?, ?)').run(streamId, JSON.stringify(stream));
      let next = this.db.prepare<[string], { next_seq: number }>('SELECT next_seq FROM orch_log_cursor WHERE stream_id = ?').get(streamId)?.next_seq ?? 1;
      const ins = this.db.prepare('INSERT INTO orch_log_outbox (stream_id, seq, entry_json, bytes, created_at) VALUES (?, ?, ?, ?, ?)');
      const now = Date.now();
      for (const e of entries) {
        const json = JSON.stringify({ seq: next, ...e });
        ins.run(streamId, next, json, Buffer.byteLength(json), now);
        this.#logBytes += Buffer.byteLength(json);
        next += 1;
      }
      this.db.prepare('UPDATE orch_log_cursor SET next_seq = ? WHERE stream_id = ?').run(next, streamId);
      return next - 1;
    })();
  }

  /** Highest seq admitted to a stream (0 when none). */
  lastLogSeq(streamId: string): number {
    const r = this.db.prepare<[string], { next_seq: number }>('SELECT next_seq FROM orch_log_cursor WHERE stream_id = ?').get(streamId);
    return r ? r.next_seq - 1 : 0;
  }

  /** Marks the stream's last seq (sent with `final: true`). */
  setLogFinal(streamId: string, stream: LogStream, finalSeq: number): void {
    this.db.prepare('INSERT OR IGNORE INTO orch_log_cursor (stream_id, stream_json) VALUES (?, ?)').run(streamId, JSON.stringify(stream));
    this.db.prepare('UPDATE orch_log_cursor SET final_seq = ? WHERE stream_id = ?').run(finalSeq, streamId);
  }

  /** Streams with entries still to send. */
  pendingStreams(): Array<{ stream_id: string; stream: LogStream; acked_seq: number; final_seq: number | null; truncated: number }> {
    return this.db
      .prepare<[], { stream_id: string; stream_json: string; acked_seq: number; final_seq: number | null; truncated: number }>(
        `
        SELECT c.* FROM orch_log_cursor c WHERE EXISTS (SELECT 1 FROM orch_log_outbox o WHERE o.stream_id = c.stream_id)
        ORDER BY (SELECT MIN(created_at) FROM orch_log_outbox o WHERE o.stream_id = c.stream_id)`,
      )
      .all()
      .map((r) => ({ ...r, stream: JSON.parse(r.stream_json) as LogStream }));
  }

  /** The next batch of a stream: entries after the acked seq, bounded by lines and uncompressed bytes. */
  logBatch(streamId: string, maxLines: number, maxBytes: number): LogEntryWire[] {
    const rows = this.db
      .prepare<[string, number], { entry_json: string; bytes: number }>(
        `SELECT entry_json, bytes FROM orch_log_outbox
        WHERE stream_id = ? AND seq > (SELECT acked_seq FROM orch_log_cursor WHERE stream_id = orch_log_outbox.stream_id) ORDER BY seq LIMIT ?`,
      )
      .all(streamId, maxLines);
    const out: LogEntryWire[] = [];
    let bytes = 0;
    for (const r of rows) {
      if (out.length > 0 && bytes + r.bytes > maxBytes) break;
      bytes += r.bytes;
      out.push(JSON.parse(r.entry_json) as LogEntryWire);
    }
    return out;
  }

  /** Server acknowledged up to `ackSeq`: delete those entries. */
  ackLogs(streamId: string, ackSeq: number): void {
    this.db.transaction(() => {
      this.#deleteLogs(streamId, ackSeq);
      this.db.prepare('UPDATE orch_log_cursor SET acked_seq = MAX(acked_seq, ?) WHERE stream_id = ?').run(ackSeq, streamId);
    })();
  }

  /** `409 log_gap`: the server's hwm is `expectedSeq - 1`; resend from there (entries are still spooled). */
  rewindLogs(streamId: string, expectedSeq: number): { ok: boolean } {
    const min = this.db.prepare<[string], { m: number | null }>('SELECT MIN(seq) AS m FROM orch_log_outbox WHERE stream_id = ?').get(streamId)?.m ?? null;
    if (min !== null && expectedSeq < min) return { ok: false };
    this.db.transaction(() => {
      this.#deleteLogs(streamId, expectedSeq - 1);
      this.db.prepare('UPDATE orch_log_cursor SET acked_seq = ? WHERE stream_id = ?').run(expectedSeq - 1, streamId);
    })();
    return { ok: true };
  }

  /** Closes a stream: drop its queued lines except the newest `keepTail` (the server truncated it, or gave up on it). */
  truncateLogs(streamId: string, keepTail = 0): void {
    this.db.transaction(() => {
      const max = this.db.prepare<[string], { m: number | null }>('SELECT MAX(seq) AS m FROM orch_log_outbox WHERE stream_id = ?').get(streamId)?.m ?? 0;
      this.#deleteLogs(streamId, max - keepTail);
      this.db.prepare('UPDATE orch_log_cursor SET truncated = 1 WHERE stream_id = ?').run(streamId);
    })();
  }

  /** A stream the server truncated keeps only its newest `keep` spooled entries: the tail sent with `final`. */
  trimLogs(streamId: string, keep: number): void {
    const max = this.db.prepare<[string], { m: number | null }>('SELECT MAX(seq) AS m FROM orch_log_outbox WHERE stream_id = ?').get(streamId)?.m ?? null;
    if (max !== null && max > keep) this.#deleteLogs(streamId, max - keep);
  }

  /** A single entry too large for the server (413): keep its seq, cut its message to a marker. */
  shrinkLogEntry(streamId: string, seq: number): void {
    const row = this.db
      .prepare<[string, number], { entry_json: string }>('SELECT entry_json FROM orch_log_outbox WHERE stream_id = ? AND seq = ?')
      .get(streamId, seq);
    if (!row) return;
    const e = JSON.parse(row.entry_json) as LogEntryWire;
    const small = JSON.stringify({ ...e, msg: `${e.msg.slice(0, 1024)} [truncated: entry too large]`, data: undefined });
    this.db.prepare('UPDATE orch_log_outbox SET entry_json = ?, bytes = ? WHERE stream_id = ? AND seq = ?').run(small, Buffer.byteLength(small), streamId, seq);
  }

  #deleteLogs(streamId: string, upTo: number): void {
    const b =
      this.db
        .prepare<[string, number], { b: number | null }>('SELECT SUM(bytes) AS b FROM orch_log_outbox WHERE stream_id = ? AND seq <= ?')
        .get(streamId, upTo)?.b ?? 0;
    this.db.prepare('DELETE FROM orch_log_outbox WHERE stream_id = ? AND seq <= ?').run(streamId, upTo);
    this.#logBytes = Math.max(0, this.#logBytes - b);
  }

  /** Bytes of spooled log entries (for the admission budget). */
  get logBytes(): number {
    return this.#logBytes;
  }

  /** Moves an undeliverable record aside (400 / 422) so it stops blocking the outbox. */
  deadLetter(kind: string, body: string, httpStatus: number | null, problem: unknown): void {
    this.db
      .prepare('INSERT INTO orch_dead_letter (kind, body_json, http_status, problem_json, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(kind, body, httpStatus, problem == null ? null : JSON.stringify(problem), Date.now());
  }

  /** Heartbeat `spool` numbers. */
  stats(degraded: boolean): { records: number; bytes: number; oldest_age_s: number; dead_letters: number; degraded: boolean } {
    const q = <T>(sql: string) => this.db.prepare<[], T>(sql).get() as T;
    const s = q<{ n: number; b: number; o: number | null }>(
      'SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(body_json)),0) AS b, MIN(created_at) AS o FROM orch_status_outbox',
    );
    const l = q<{ n: number; o: number | null }>('SELECT COUNT(*) AS n, MIN(created_at) AS o FROM orch_log_outbox');
    const d = q<{ n: number }>('SELECT COUNT(*) AS n FROM orch_dead_letter');
    const oldest = Math.min(s.o ?? Infinity, l.o ?? Infinity);
    return {
      records: s.n + l.n,
      bytes: s.b + this.#logBytes,
      oldest_age_s: Number.isFinite(oldest) ? Math.max(0, Math.round((Date.now() - oldest) / 1000)) : 0,
      dead_letters: d.n,
      degraded,
    };
  }

  /** Forgets finished journal rows older than `maxAgeMs` that have nothing left to send. */
  pruneJournal(maxAgeMs = 30 * 86_400_000): void {
    this.db
      .prepare(
        `DELETE FROM orch_journal WHERE state NOT IN ('claimed','running','cancelling') AND updated_at < ?
        AND lease_id NOT IN (SELECT lease_id FROM orch_status_outbox)`,
      )
      .run(Date.now() - maxAgeMs);
  }
}
