import type { AgentApi, AgentEvents } from '../../shared/agent-api.js';
import type { LogHub } from './log/logger.js';
import type { SecretStore } from './secrets/secret-store.js';

/** How a shell (the CLI, the Electron main process, a test bridge) starts the agent core. */
export interface AgentCoreOptions {
  /** The YAML config file; created with built-in demo defaults when missing and `createDemoIfMissing`. */
  readonly configPath: string;
  /** Overrides the config's / platform's data directory (state DB, generated files). */
  readonly dataDir?: string;
  readonly createDemoIfMissing?: boolean;
  /** Injected in tests; otherwise chosen from the config (`secrets.backend`). */
  readonly secretStore?: SecretStore;
  /** Run standalone schedules (false for one-shot CLI commands). */
  readonly schedule?: boolean;
}

/**
 * The running agent, as the two shells see it: the UI-facing `AgentApi` plus lifecycle and events.
 *
 * Created by `createAgentCore` in `agent.ts`.
 */
export interface AgentCore extends AgentApi {
  readonly logs: LogHub;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void;
  /** Stops schedules, cancels running restic cleanly (lock released) and closes the state DB. */
  stop(): Promise<void>;
}
