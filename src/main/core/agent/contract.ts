import type { AgentConfig } from '../config/types.js';
import type { AgentApi, AgentEvents } from '../../../shared/agent-api.js';
import type { LogEntry } from '../../../shared/model/log.js';
import type { RunRecord } from '../../../shared/model/run.js';
import type { EnrollRequest } from './enroll.js';
import type { PluginRestore } from './plugin-restore.js';
import type { LogHub } from '../log/logger.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { PlatformProbes } from '../conditions/probes.js';
import type { Clock } from '../time/clock.js';

/** How a shell (the CLI, the Electron main process, a test bridge) starts the agent core. */
export interface AgentCoreOptions {
  /** The YAML config file. */
  readonly configPath: string;
  /** Overrides the config's / platform's data directory (state DB, generated files). */
  readonly dataDir?: string;
  /**
   * When the config file does not exist: `fail` (default, one-shot commands), `demo` (the CLI's `run`: built-in
   * demo defaults, repository initialised) or `empty` (the desktop app: an empty file, so the core starts
   * unconfigured and the setup wizard takes over).
   */
  readonly ifMissing?: 'fail' | 'demo' | 'empty';
  /** Injected in tests; otherwise chosen from the config (`secrets.backend`). */
  readonly secretStore?: SecretStore;
  /** Run standalone schedules (false for one-shot CLI commands). */
  readonly schedule?: boolean;
  /** Move a damaged state database aside and start fresh (default true); false refuses to start instead. */
  readonly recoverCorruptState?: boolean;
  /** Receives every log entry from the very start (first-run setup included). */
  readonly onLog?: (entry: LogEntry) => void;
  /** Time for everything that waits (schedules, queues); the system clock unless a test injects one. */
  readonly clock?: Clock;
  /** Power, network-cost and disk-space answers for conditions; the platform's unless a test injects them. */
  readonly probes?: PlatformProbes;
  /** Opens this state database instead of the data dir's (the update health check runs on a copy). */
  readonly stateFile?: string;
}

/**
 * The running agent, as the two shells see it: the UI-facing `AgentApi` plus lifecycle and events.
 *
 * Created by `createAgentCore` in `agent/create.ts`.
 */
export interface AgentCore extends AgentApi {
  readonly logs: LogHub;
  /** True when this start created the demo configuration (first run on built-in defaults). */
  readonly createdDemo: boolean;
  readonly configPath: string;
  /** The pid of another agent process that owns the data dir (a daemon), or null when this one owns it. */
  dataDirOwner(): number | null;
  /** The configuration in effect (after a reload, the new one). */
  effectiveConfig(): AgentConfig;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof AgentEvents>(event: K, listener: (payload: AgentEvents[K]) => void): () => void;
  /** One-shot operations for the CLI: run now (ignoring pause and conditions) and wait for the records. */
  runNow(op: OneShot): Promise<ReadonlyArray<RunRecord>>;
  /** Connects to an orchestrator (token to the secret store, `orchestrator:` section to the config file). */
  enroll(request: EnrollRequest): Promise<{ readonly agentId: string | null; readonly dialect: string }>;
  /** The machine woke from sleep (or the network came back): re-plan at once instead of at the next timer. */
  wake(): void;
  /** Stops schedules, cancels running restic cleanly (lock released) and closes the state DB. */
  stop(): Promise<void>;
  /** Before an update: no new runs, managed mode drains; resolves once nothing runs. `release` undoes it. */
  holdForUpdate(): Promise<void>;
  releaseHold(): void;
  /** A consistent copy of the state database (the update health check migrates the copy). */
  copyStateTo(file: string): Promise<void>;
  /** In managed mode, one heartbeat to the orchestrator (the update health check); throws why it failed. */
  probeOrchestrator(): Promise<void>;
}

/** What `runNow` can do; `null` = every source / repository. */
export type OneShot =
  | { readonly kind: 'backup'; readonly source: string | null }
  | { readonly kind: 'check'; readonly repository: string | null; readonly readDataSubset: string | null }
  | { readonly kind: 'forget'; readonly repository: string | null; readonly prune: boolean }
  | { readonly kind: 'prune'; readonly repository: string | null }
  | { readonly kind: 'init'; readonly repository: string | null }
  | { readonly kind: 'unlock'; readonly repository: string | null }
  | ({ readonly kind: 'restore'; readonly source: string } & PluginRestore);
