import Database from 'better-sqlite3';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { hasBuiltinSqlite, openBuiltinSqlite } from './builtin-sqlite.js';

/** The agent's durable local state: one SQLite file, WAL mode, synchronous writes. */
export type StateDb = Database.Database;

/**
 * A schema change owned by one module (run history, scheduler, outbox…).
 *
 * `id` is unique and stable forever; migrations run once each, in the order given, inside a transaction.
 */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

/**
 * Which SQLite the state database uses: better-sqlite3 (its native addon), or Node's built-in `node:sqlite`, which
 * the single-file binaries use (no addon to build per platform) and `RESTIC_AGENT_SQLITE=builtin` asks for.
 */
let builtin = process.env.RESTIC_AGENT_SQLITE === 'builtin';

export function useBuiltinSqlite(): void {
  if (!hasBuiltinSqlite()) throw new Error(`node:sqlite is not available in Node ${process.version} (it needs Node 22.13 or newer)`);
  builtin = true;
}

/** Opens (creating if needed) the state database at `file` (`:memory:` for tests) and applies `migrations`. */
export function openStateDb(file: string, migrations: ReadonlyArray<Migration>): StateDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = builtin ? openBuiltinSqlite(file) : new Database(file);
  try {
    configure(db, migrations);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

function configure(db: StateDb, migrations: ReadonlyArray<Migration>): void {
  db.pragma('journal_mode = WAL');
  // FULL: a status report acknowledged by this write survives a power cut (the outbox relies on it).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  applyMigrations(db, migrations);
}

/** SQLite's answers for a file that is not (or no longer) a database. */
const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/** The state database could not be opened because the file is damaged (and recovery was refused). */
export class CorruptStateError extends Error {
  constructor(
    readonly file: string,
    cause: Error,
  ) {
    super(`state database ${file} is damaged (${cause.message}): move it aside, or start without --no-recover to let the agent do so`);
    this.name = 'CorruptStateError';
  }
}

/**
 * Opens the state database; a damaged file is moved aside as `state.db.corrupt-<time>` (with its -wal/-shm)
 * and a fresh one is created — the repository stays the source of truth for snapshots, so only local history
 * and pending reports are lost, and the moved file keeps them for inspection. `recover: false` refuses instead.
 */
export function openStateDbRecovering(
  file: string,
  migrations: ReadonlyArray<Migration>,
  opts: { recover: boolean; now?: () => Date },
): { db: StateDb; movedAside: string | null } {
  try {
    return { db: openStateDb(file, migrations), movedAside: null };
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (!CORRUPT_CODES.has(code)) throw e;
    if (!opts.recover) throw new CorruptStateError(file, e as Error);
    const aside = `${file}.corrupt-${(opts.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
    renameSync(file, aside);
    for (const ext of ['-wal', '-shm']) if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
    return { db: openStateDb(file, migrations), movedAside: aside };
  }
}

/** Applies the migrations not yet recorded in `schema_migrations`. Safe to call again with more. */
export function applyMigrations(db: StateDb, migrations: ReadonlyArray<Migration>): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set(
    db
      .prepare<[], { id: string }>('SELECT id FROM schema_migrations')
      .all()
      .map((r) => r.id),
  );
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    })();
  }
}
