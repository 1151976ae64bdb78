import type Database from 'better-sqlite3';

/**
 * The state database on Node's built-in `node:sqlite` (Node ≥ 22.13), for the single-file binaries: no native addon
 * has to be built per platform. It offers the part of better-sqlite3's API the agent uses — prepare/run/get/all,
 * exec, pragma, transaction (nested as savepoints), backup, close — and better-sqlite3's error codes
 * (`SQLITE_NOTADB`…), so every module keeps one `StateDb` type.
 */

/** The subset of `node:sqlite` used here (this project's @types/node is Node 20's, which has none). */
interface NodeSqlite {
  DatabaseSync: new (file: string) => NodeDatabase;
  backup(db: NodeDatabase, path: string): Promise<number>;
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
  close(): void;
}
interface NodeStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  setAllowUnknownNamedParameters?(allow: boolean): void;
}

/** SQLite's primary result codes, by number, as better-sqlite3 names them in `error.code`. */
const CODES: Record<number, string> = {
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  19: 'SQLITE_CONSTRAINT',
  26: 'SQLITE_NOTADB',
};

/** Runs `f`, giving a node:sqlite error better-sqlite3's `code` (`errcode` 26 → `SQLITE_NOTADB`). */
function coded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    const errcode = (e as { errcode?: number }).errcode;
    if (typeof errcode === 'number') Object.assign(e as object, { code: CODES[errcode & 0xff] ?? `SQLITE_ERROR_${errcode}` });
    throw e;
  }
}

class BuiltinStatement {
  constructor(private readonly s: NodeStatement) {
    // better-sqlite3 ignores keys of a parameter object the statement does not name; so does this.
    s.setAllowUnknownNamedParameters?.(true);
  }
  run(...p: unknown[]) {
    return coded(() => this.s.run(...p));
  }
  get(...p: unknown[]) {
    return coded(() => this.s.get(...p));
  }
  all(...p: unknown[]) {
    return coded(() => this.s.all(...p));
  }
}

class BuiltinDatabase {
  #depth = 0;
  readonly #db: NodeDatabase;

  constructor(
    private readonly sqlite: NodeSqlite,
    file: string,
  ) {
    this.#db = coded(() => new sqlite.DatabaseSync(file));
  }

  prepare(sql: string): BuiltinStatement {
    return new BuiltinStatement(coded(() => this.#db.prepare(sql)));
  }

  exec(sql: string): this {
    coded(() => this.#db.exec(sql));
    return this;
  }

  pragma(sql: string): unknown[] {
    return this.prepare(`PRAGMA ${sql}`).all();
  }

  /** better-sqlite3's `transaction(fn)`: BEGIN…COMMIT, ROLLBACK when `fn` throws; a nested call is a savepoint. */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      const savepoint = this.#depth > 0 ? `rma_tx_${this.#depth}` : null;
      this.exec(savepoint ? `SAVEPOINT ${savepoint}` : 'BEGIN');
      this.#depth++;
      try {
        const result = fn(...args);
        this.exec(savepoint ? `RELEASE ${savepoint}` : 'COMMIT');
        return result;
      } catch (e) {
        try {
          this.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : 'ROLLBACK');
        } catch {
          // SQLite has rolled back on its own (a full disk, say): the error to report is `e`.
        }
        throw e;
      } finally {
        this.#depth--;
      }
    };
  }

  backup(file: string): Promise<unknown> {
    return this.sqlite.backup(this.#db, file);
  }

  close(): this {
    this.#db.close();
    return this;
  }
}

/** Whether this Node has `node:sqlite` (22.13+ without a flag). */
export function hasBuiltinSqlite(): boolean {
  return typeof process.getBuiltinModule === 'function' && process.getBuiltinModule('node:sqlite') !== undefined;
}

/** Opens `file` with `node:sqlite`, typed as better-sqlite3's Database (only the part above exists). */
export function openBuiltinSqlite(file: string): Database.Database {
  const sqlite = process.getBuiltinModule('node:sqlite') as NodeSqlite;
  return new BuiltinDatabase(sqlite, file) as unknown as Database.Database;
}
