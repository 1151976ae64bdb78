import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BackupStats, FileError, RunKind, RunOutcome, RunRecord, RunTrigger } from '../../../shared/model/run.js';
import type { Migration, StateDb } from './db.js';

/** Schema of the `runs` table (one row per restic operation the agent ran). */
export const runHistoryMigrations: ReadonlyArray<Migration> = [
  {
    id: 'run-history-001-runs',
    sql: `CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        trigger TEXT NOT NULL,
        repository TEXT NOT NULL,
        source TEXT,
        policy TEXT,
        task_id TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT,
        message TEXT,
        snapshot_id TEXT,
        stats_json TEXT,
        file_errors_json TEXT NOT NULL DEFAULT '[]',
        exit_code INTEGER
      );
      CREATE INDEX runs_started ON runs (started_at DESC);
      CREATE INDEX runs_source ON runs (source, started_at DESC);
      CREATE INDEX runs_open ON runs (ended_at) WHERE ended_at IS NULL;`,
  },
  {
    // When a run last showed life (progress, a log line): the end time of a run a crash left open.
    id: 'run-history-002-last-seen',
    sql: 'ALTER TABLE runs ADD COLUMN last_seen_at TEXT',
  },
];

/** File errors kept per run; the rest are summarised in one extra entry so a huge failing tree cannot bloat the DB. */
export const MAX_STORED_FILE_ERRORS = 100;

/** What is known when a run starts. */
export interface RunStart {
  /** Use this id (e.g. the scheduler's job id) instead of a fresh UUID. */
  readonly id?: string;
  readonly kind: RunKind;
  readonly trigger: RunTrigger;
  readonly repository: string;
  readonly source: string | null;
  readonly policy: string | null;
  readonly taskId: string | null;
}

/** What is known when a run ends. */
export interface RunFinish {
  readonly outcome: RunOutcome;
  readonly message: string | null;
  readonly snapshotId?: string | null;
  readonly stats?: BackupStats | null;
  readonly fileErrors?: ReadonlyArray<FileError>;
  readonly exitCode?: number | null;
}

interface Row {
  id: string;
  kind: string;
  trigger: string;
  repository: string;
  source: string | null;
  policy: string | null;
  task_id: string | null;
  started_at: string;
  ended_at: string | null;
  outcome: string | null;
  message: string | null;
  snapshot_id: string | null;
  stats_json: string | null;
  file_errors_json: string;
  exit_code: number | null;
}

const fileErrorsSchema = z.array(z.object({ item: z.string(), during: z.string(), message: z.string() }));
const statsSchema = z.object({
  filesNew: z.number(),
  filesChanged: z.number(),
  filesUnmodified: z.number(),
  dirsNew: z.number(),
  dirsChanged: z.number(),
  dirsUnmodified: z.number(),
  dataAdded: z.number(),
  dataAddedPacked: z.number().nullable(),
  totalFilesProcessed: z.number(),
  totalBytesProcessed: z.number(),
  totalDurationSeconds: z.number(),
});

/** Parses a JSON column; a corrupt value reads as `fallback` rather than breaking the history screen. */
function parseJson<T>(text: string | null, schema: z.ZodType<T>, fallback: T): T {
  if (text === null) return fallback;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : fallback;
  } catch {
    return fallback;
  }
}

function toRecord(row: Row): RunRecord {
  return {
    id: row.id,
    kind: row.kind as RunKind,
    trigger: row.trigger as RunTrigger,
    repository: row.repository,
    source: row.source,
    policy: row.policy,
    taskId: row.task_id,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    outcome: row.outcome as RunOutcome | null,
    message: row.message,
    snapshotId: row.snapshot_id,
    stats: parseJson<BackupStats | null>(row.stats_json, statsSchema, null),
    fileErrors: parseJson<FileError[]>(row.file_errors_json, fileErrorsSchema, []),
    exitCode: row.exit_code,
  };
}

/** Caps the stored file errors, noting how many were dropped. */
function capFileErrors(errors: ReadonlyArray<FileError>): FileError[] {
  if (errors.length <= MAX_STORED_FILE_ERRORS) return [...errors];
  const kept = errors.slice(0, MAX_STORED_FILE_ERRORS - 1);
  const dropped = errors.length - kept.length;
  return [...kept, { item: '…', during: 'truncated', message: `${dropped} more file errors not stored` }];
}

/** Message given to runs that were still open when the agent started again. */
export const INTERRUPTED_MESSAGE = 'agent stopped while running';

/**
 * The local run history: one row per restic operation, written when it starts and when it ends.
 *
 * Every write is a single statement or a transaction, so a crash leaves either the old or the new row.
 */
export class RunHistory {
  readonly #db: StateDb;
  readonly #now: () => number;

  constructor(db: StateDb, options: { readonly now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** Records a run as started and returns it. */
  start(r: RunStart): RunRecord {
    const id = r.id ?? randomUUID();
    const startedAt = new Date(this.#now()).toISOString();
    this.#db
      .prepare(
        `INSERT INTO runs (id, kind, trigger, repository, source, policy, task_id, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, r.kind, r.trigger, r.repository, r.source, r.policy, r.taskId, startedAt);
    const rec = this.get(id);
    if (!rec) throw new Error(`run ${id} vanished right after it was recorded`);
    return rec;
  }

  /** Records how a run ended. Finishing an unknown or already finished run throws (a bug in the caller). */
  finish(id: string, f: RunFinish): RunRecord {
    const endedAt = new Date(this.#now()).toISOString();
    const update = this.#db.transaction(() => {
      const changed = this.#db
        .prepare(
          `UPDATE runs SET ended_at = ?, outcome = ?, message = ?, snapshot_id = ?, stats_json = ?,
             file_errors_json = ?, exit_code = ?
           WHERE id = ? AND ended_at IS NULL`,
        )
        .run(
          endedAt,
          f.outcome,
          f.message,
          f.snapshotId ?? null,
          f.stats ? JSON.stringify(f.stats) : null,
          JSON.stringify(capFileErrors(f.fileErrors ?? [])),
          f.exitCode ?? null,
          id,
        ).changes;
      if (changed !== 1) throw new Error(`run ${id} is unknown or already finished`);
    });
    update();
    const rec = this.get(id);
    if (!rec) throw new Error(`run ${id} vanished`);
    return rec;
  }

  /** Records that run `id` is alive now (called throttled while restic reports progress or prints). */
  touch(id: string): void {
    this.#db.prepare('UPDATE runs SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL').run(new Date(this.#now()).toISOString(), id);
  }

  /** One run by id. */
  get(id: string): RunRecord | null {
    const row = this.#db.prepare<[string], Row>('SELECT * FROM runs WHERE id = ?').get(id);
    return row ? toRecord(row) : null;
  }

  /** Newest first, optionally only one source and/or one kind. */
  list(q: { readonly limit: number; readonly source?: string; readonly kind?: RunKind }): RunRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.source !== undefined) {
      where.push('source = ?');
      args.push(q.source);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    const limit = Math.max(0, Math.min(Math.floor(q.limit), 10_000));
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY started_at DESC, rowid DESC LIMIT ?`;
    return this.#db
      .prepare<Array<string | number>, Row>(sql)
      .all(...args, limit)
      .map(toRecord);
  }

  /** The newest backup run of a source (running or finished). */
  lastFor(source: string): RunRecord | null {
    return this.list({ limit: 1, source, kind: 'backup' })[0] ?? null;
  }

  /** The newest `forget` of a source that started at or after `since` (the retention step of that backup job). */
  retentionAfter(source: string, since: string): RunRecord | null {
    const row = this.#db
      .prepare<[string, string], Row>(
        `SELECT * FROM runs WHERE source = ? AND kind = 'forget' AND started_at >= ? ORDER BY started_at DESC, rowid DESC LIMIT 1`,
      )
      .get(source, since);
    return row ? toRecord(row) : null;
  }

  /** The newest backup of a source that produced a snapshot (`success` or `partial`). */
  lastSuccessFor(source: string): RunRecord | null {
    const row = this.#db
      .prepare<[string], Row>(
        `SELECT * FROM runs WHERE source = ? AND kind = 'backup' AND outcome IN ('success', 'partial')
         ORDER BY started_at DESC, rowid DESC LIMIT 1`,
      )
      .get(source);
    return row ? toRecord(row) : null;
  }

  /** Runs still open (no end). */
  open(): RunRecord[] {
    return this.#db.prepare<[], Row>('SELECT * FROM runs WHERE ended_at IS NULL ORDER BY started_at').all().map(toRecord);
  }

  /**
   * Closes runs left open by a crash or a kill as `killed`, ended when they last showed life (not now). Call
   * once at start, before any new run.
   *
   * @returns the runs it closed.
   */
  markInterrupted(): RunRecord[] {
    const close = this.#db.transaction(() => {
      const ids = this.open().map((r) => r.id);
      this.#db
        .prepare(`UPDATE runs SET ended_at = COALESCE(last_seen_at, started_at), outcome = 'killed', message = ? WHERE ended_at IS NULL`)
        .run(INTERRUPTED_MESSAGE);
      return ids;
    });
    return close()
      .map((id) => this.get(id))
      .filter((r): r is RunRecord => r !== null);
  }

  /** Deletes all but the newest `keep` finished runs. */
  trim(keep: number): number {
    return this.#db
      .prepare(
        `DELETE FROM runs WHERE ended_at IS NOT NULL AND id NOT IN
           (SELECT id FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?)`,
      )
      .run(Math.max(0, Math.floor(keep))).changes;
  }
}
