import { agentStateMigrations } from './agent-state.js';
import type { Migration } from './db.js';
import { runHistoryMigrations } from './run-history.js';

/** The migrations of the run history and the agent state, in order (pass to `openStateDb`). */
export const stateMigrations: ReadonlyArray<Migration> = [...runHistoryMigrations, ...agentStateMigrations];
