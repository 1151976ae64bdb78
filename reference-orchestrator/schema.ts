/**
 * The orchestrator's SQLite schema. Everything the protocol promises to remember lives here, so the server can be
 * killed and restarted mid-flight (spec §12.1). Times are epoch milliseconds of the server clock.
 */
import type { Migration } from '../src/main/core/state/db.js';

/** Migrations for `openStateDb`. */
export const ORCHESTRATOR_MIGRATIONS: ReadonlyArray<Migration> = [
  {
    id: 'orchestrator-001-initial',
    sql: `
CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  max_uses INTEGER NOT NULL, uses INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER,
  labels_json TEXT NOT NULL DEFAULT '{}', allowed_types_json TEXT, hostname TEXT, grp TEXT
);
CREATE TABLE agents (
  id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, enrollment_id TEXT NOT NULL, registered_at INTEGER NOT NULL,
  hostname TEXT, machine_fingerprint TEXT, register_json TEXT NOT NULL, labels_json TEXT NOT NULL DEFAULT '{}',
  capabilities_json TEXT NOT NULL DEFAULT '[]', allowed_types_json TEXT, agent_version TEXT,
  status TEXT NOT NULL DEFAULT 'active', possible_clone INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER, hb_count INTEGER NOT NULL DEFAULT 0, last_heartbeat_json TEXT, hb_state TEXT,
  final_at INTEGER, clock_skew_ms INTEGER, rotate_requested INTEGER NOT NULL DEFAULT 0,
  drain_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX agents_by_instance ON agents(instance_id, enrollment_id);
CREATE TABLE agent_tokens (
  id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('active','pending','superseded','revoked')),
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, first_used_at INTEGER, superseded_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX agent_tokens_by_agent ON agent_tokens(agent_id);
CREATE TABLE agent_boots (
  agent_id TEXT NOT NULL, boot_id TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  conflict INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (agent_id, boot_id)
);
CREATE TABLE tasks (
  id TEXT PRIMARY KEY, agent_id TEXT, type TEXT NOT NULL, params_json TEXT NOT NULL, repo_json TEXT, repo_id TEXT,
  state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  next_attempt INTEGER NOT NULL DEFAULT 1, next_attempt_at INTEGER, retry_reconcile INTEGER NOT NULL DEFAULT 0,
  current_lease_id TEXT, cancel_requested_at INTEGER, cancel_reason TEXT, deleted_at INTEGER,
  max_runtime_s INTEGER NOT NULL, lost_after_s INTEGER NOT NULL, cancel_grace_s INTEGER NOT NULL,
  rejected_by_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX tasks_by_state ON tasks(state);
CREATE TABLE leases (
  id TEXT PRIMARY KEY, task_id TEXT NOT NULL, agent_id TEXT NOT NULL, attempt INTEGER NOT NULL,
  state TEXT NOT NULL, agent_state TEXT, status_seq INTEGER NOT NULL DEFAULT 0, status_json TEXT,
  offered_at INTEGER NOT NULL, offer_expires_at INTEGER NOT NULL, claimed_at INTEGER, claim_hb_count INTEGER,
  lease_expires_at INTEGER, missing_beats INTEGER NOT NULL DEFAULT 0, reason TEXT, late INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER, params_json TEXT NOT NULL
);
CREATE INDEX leases_by_task ON leases(task_id);
CREATE INDEX leases_by_agent_state ON leases(agent_id, state);
CREATE TABLE status_reports (
  lease_id TEXT NOT NULL, status_seq INTEGER NOT NULL, state TEXT, body_json TEXT NOT NULL,
  received_at INTEGER NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (lease_id, status_seq)
);
CREATE TABLE log_streams (
  stream_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, kind TEXT NOT NULL, task_id TEXT, lease_id TEXT,
  hwm INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, truncated INTEGER NOT NULL DEFAULT 0,
  dropped INTEGER NOT NULL DEFAULT 0, final INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL
);
CREATE TABLE log_entries (
  stream_id TEXT NOT NULL, seq INTEGER NOT NULL, entry_json TEXT NOT NULL, PRIMARY KEY (stream_id, seq)
);
CREATE TABLE idempotency (
  scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status INTEGER NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (scope, key)
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL, agent_id TEXT,
  detail_json TEXT NOT NULL DEFAULT '{}'
);
`,
  },
];
