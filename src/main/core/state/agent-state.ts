import type { z } from 'zod';
import type { Migration, StateDb } from './db.js';

/** Schema of the `agent_state` key → JSON table. */
export const agentStateMigrations: ReadonlyArray<Migration> = [
  {
    id: 'agent-state-001-kv',
    sql: `CREATE TABLE agent_state (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );`,
  },
];

/**
 * Small durable agent state (pause, per-schedule last/next run, alert flags) as JSON values under string keys.
 *
 * Readers pass a zod schema: a value written by an older version or damaged on disk reads as `null`
 * (treated as "no state") instead of crashing the agent.
 */
export class AgentStateStore {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
  }

  /** The value under `key`, or null when missing or not matching `schema`. */
  get<T>(key: string, schema: z.ZodType<T>): T | null {
    const row = this.#db.prepare<[string], { value_json: string }>('SELECT value_json FROM agent_state WHERE key = ?').get(key);
    if (!row) return null;
    try {
      const parsed = schema.safeParse(JSON.parse(row.value_json));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** Stores `value` (anything JSON can represent) under `key`. */
  set(key: string, value: unknown): void {
    this.#db
      .prepare(
        `INSERT INTO agent_state (key, value_json, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`,
      )
      .run(key, JSON.stringify(value), new Date().toISOString());
  }

  /** Reads, changes and writes one value atomically. */
  update<T>(key: string, schema: z.ZodType<T>, change: (current: T | null) => T): T {
    const tx = this.#db.transaction(() => {
      const next = change(this.get(key, schema));
      this.set(key, next);
      return next;
    });
    return tx();
  }

  delete(key: string): void {
    this.#db.prepare('DELETE FROM agent_state WHERE key = ?').run(key);
  }

  /** Keys starting with `prefix`, sorted. */
  keys(prefix = ''): string[] {
    return this.#db
      .prepare<[string, string], { key: string }>('SELECT key FROM agent_state WHERE substr(key, 1, length(?)) = ? ORDER BY key')
      .all(prefix, prefix)
      .map((r) => r.key);
  }
}
