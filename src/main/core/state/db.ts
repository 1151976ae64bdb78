import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

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

/** Opens (creating if needed) the state database at `file` (`:memory:` for tests) and applies `migrations`. */
export function openStateDb(file: string, migrations: ReadonlyArray<Migration>): StateDb {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a status report acknowledged by this write survives a power cut (the outbox relies on it).
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  applyMigrations(db, migrations);
  return db;
}

/** Applies the migrations not yet recorded in `schema_migrations`. Safe to call again with more. */
export function applyMigrations(db: StateDb, migrations: ReadonlyArray<Migration>): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set(
    db.prepare<[], { id: string }>('SELECT id FROM schema_migrations').all().map((r) => r.id),
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
