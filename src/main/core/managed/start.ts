import type { AgentStatus, SourceHealth } from '../../../shared/model/status.js';
import type { HeartbeatFacts } from './v1/types.js';
import { editConfigFile } from '../config/edit.js';
import type { AgentConfig, OrchestratorConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { adoptConfigToken, credentialOkKey, dialectKey, migrateLegacyTokens, orchestratorScope } from './credentials.js';
import { KV } from './v1/enrollment.js';
import { Outbox } from './v1/outbox.js';
import { defaultHeartbeatFacts } from './v1/heartbeat.js';
import { ManagedAgent } from './v1/agent.js';
import { detectDialect, type Dialect } from './detect-dialect.js';
import { RmAgent } from './restic-monitor/agent.js';
import { matchRepository } from './restic-monitor/task.js';
import { resolveRepoAccess } from '../secrets/resolve-repo.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { AgentStateStore } from '../state/agent-state.js';
import type { StateDb } from '../state/db.js';
import { z } from 'zod';
import { readCaFile } from '../config/read-ca.js';
import type { TrackerDeps } from '../agent/run-tracker.js';
import { restMonitorExecutor, v1Executor } from './task-executor.js';
import type { UpdateReport } from '../update/report.js';

/** The connection to an orchestrator, whichever dialect it speaks. */
export interface ManagedLink {
  readonly dialect: Dialect;
  status(): NonNullable<AgentStatus['orchestrator']>;
  stop(): Promise<void>;
  /** Draining (true): no new tasks are claimed; running ones finish. False resumes claiming. */
  drain(on: boolean): void;
}

/** What managed mode needs from the agent core. */
export interface ManagedContext {
  readonly configPath: string;
  readonly config: AgentConfig;
  readonly db: StateDb;
  readonly secrets: SecretStore;
  readonly state: AgentStateStore;
  readonly logs: Logger;
  readonly agentVersion: string;
  readonly resticVersion: string;
  readonly deps: () => TrackerDeps;
  readonly onChange: () => void;
  /** The plugin sources' last health checks, reported in the v1 heartbeat's `sources`. */
  readonly sourceHealth?: () => ReadonlyMap<string, SourceHealth>;
  /** The last update check and attempt, reported in the v1 heartbeat's `update`. */
  readonly updateReport?: () => UpdateReport | null;
  /** Only prove the connection with one heartbeat (the update health check): no loops, no tasks; returns null. */
  readonly probeOnly?: boolean;
}

const dialectSchema = z.enum(['v1', 'restic-monitor']);

/** Starts managed mode when the config has an `orchestrator` section; null otherwise. */
export async function startManaged(ctx: ManagedContext): Promise<ManagedLink | null> {
  const o = ctx.config.orchestrator;
  if (!o) return null;
  const kv = new Outbox(ctx.db);
  const { dialect, remembered } = await chooseDialect(ctx, o, kv.kvGet(KV.caPin));
  const scope = orchestratorScope(o.url, dialect);
  const recorded = kv.kvGet(KV.orchestratorUrl);
  if (await migrateLegacyTokens(ctx.secrets, scope, recorded ? orchestratorScope(recorded, 'v1') : null)) {
    ctx.logs.info(`the stored orchestrator token now belongs to ${recorded ?? o.url} (secret-store accounts are per orchestrator)`);
  }
  const proven = await adoptFileToken(ctx, o, scope);
  const mounts = [ctx.config.agent.dataDir, ...(ctx.config.restic.cacheDir ? [ctx.config.restic.cacheDir] : [])];
  let lastContactAt: string | null = null;
  if (dialect === 'v1') {
    const agent = new ManagedAgent({
      url: o.url,
      caFile: o.caFile,
      insecureLoopback: o.insecureLoopback,
      db: ctx.db,
      secrets: ctx.secrets,
      executor: v1Executor(ctx.deps),
      agentVersion: ctx.agentVersion,
      resticVersion: ctx.resticVersion,
      heartbeatFacts: async () => ({
        ...(await defaultHeartbeatFacts(mounts)),
        sources: heartbeatSources(ctx.sourceHealth?.()),
        agent_version: ctx.agentVersion,
        update: ctx.updateReport?.() ?? null,
      }),
      log: ctx.logs,
      onAuthenticated: proven,
      onState: (s) => {
        if (!s.offline) lastContactAt = new Date().toISOString();
        ctx.onChange();
      },
    });
    if (ctx.probeOnly) return agent.probe().then(() => null);
    await startOrForget(ctx, o, remembered, () => agent.start());
    return {
      dialect,
      status: () => ({ url: o.url, connected: !agent.status().offline, lastContactAt }),
      stop: () => agent.stop(),
      drain: (on) => agent.drain(on),
    };
  }
  const agent = new RmAgent({
    url: o.url,
    db: ctx.db,
    secrets: ctx.secrets,
    insecureLoopback: o.insecureLoopback,
    ca: await readCaFile(o.caFile),
    executor: restMonitorExecutor(ctx.deps),
    resolveRepository: (repo) => {
      const local = matchRepository(ctx.config.repositories, repo);
      return local ? resolveRepoAccess(local, ctx.secrets) : null;
    },
    hostname: ctx.config.agent.hostname,
    agentVersion: ctx.agentVersion,
    logger: ctx.logs,
    heartbeatIntervalMs: Math.min(ctx.config.agent.heartbeatIntervalMs, 30_000),
    // No pollIntervalMs: the server's `nextTaskCheckAfterSeconds` decides (30 s when it says nothing).
    diskPaths: mounts,
    onAuthenticated: proven,
  });
  if (ctx.probeOnly) return agent.probe().then(() => null);
  await startOrForget(ctx, o, remembered, () => agent.start());
  return {
    dialect,
    drain: (on) => agent.drain(on),
    status: () => {
      const s = agent.status();
      if (s.connected) lastContactAt = new Date().toISOString();
      return { url: o.url, connected: s.connected, lastContactAt };
    },
    stop: () => agent.stop(),
  };
}

/** `protocol: auto` probes once (through the pinned transport) and remembers the answer per orchestrator. */
async function chooseDialect(ctx: ManagedContext, o: OrchestratorConfig, caPin: string | null): Promise<{ dialect: Dialect; remembered: boolean }> {
  if (o.protocol !== 'auto') return { dialect: o.protocol, remembered: false };
  const known = ctx.state.get(dialectKey(o.url), dialectSchema);
  if (known) return { dialect: known, remembered: true };
  const found = await detectDialect(o.url, { insecureLoopback: o.insecureLoopback, ca: await readCaFile(o.caFile), caPin, agentVersion: ctx.agentVersion });
  ctx.state.set(dialectKey(o.url), found);
  ctx.logs.info(`orchestrator at ${o.url} speaks ${found === 'v1' ? 'protocol v1' : 'the restic-monitor API'} (remembered)`);
  return { dialect: found, remembered: false };
}

/** A remembered dialect that no longer starts is forgotten, so the next attempt detects it again. */
async function startOrForget(ctx: ManagedContext, o: OrchestratorConfig, remembered: boolean, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (e) {
    if (remembered) {
      ctx.state.delete(dialectKey(o.url));
      ctx.logs.warn(`orchestrator at ${o.url}: the remembered dialect did not start (${(e as Error).message}); it will be detected again`);
    }
    throw e;
  }
}

/**
 * A token written into the YAML (`orchestrator.token`) is stored for this orchestrator (the file wins over a
 * different stored token, unless the rotation record shows it was rotated out) and removed from the file only
 * once it has been proven by an authenticated 2xx. Returns the callback the dialect calls on each such 2xx.
 */
async function adoptFileToken(ctx: ManagedContext, o: OrchestratorConfig, scope: string): Promise<() => void> {
  let removeFromFile = false;
  if (o.legacyToken) {
    const d = await adoptConfigToken(o.legacyToken, ctx.secrets, scope);
    removeFromFile = true;
    if (d.use === 'stored') {
      ctx.logs.warn(
        `orchestrator.token in ${ctx.configPath} was rotated out earlier; using the newer stored token for ${o.url} (the file's copy is removed once that one works)`,
      );
    } else if (d.replaced) {
      ctx.logs.warn(
        `orchestrator.token in ${ctx.configPath} differs from the token stored for ${o.url}: using the one in the file (the old one is kept as "previous" in ${ctx.secrets.backend})`,
      );
    } else {
      ctx.logs.info(
        `orchestrator.token in ${ctx.configPath} is stored in ${ctx.secrets.backend} for ${o.url}; it is removed from the file once the orchestrator accepts it`,
      );
    }
  }
  let lastWrite = 0;
  return () => {
    if (Date.now() - lastWrite > 60_000) {
      lastWrite = Date.now();
      ctx.state.set(credentialOkKey(scope), new Date().toISOString());
    }
    if (!removeFromFile) return;
    removeFromFile = false;
    void editConfigFile(ctx.configPath, (doc) => doc.deleteIn(['orchestrator', 'token'])).then(
      () => ctx.logs.warn(`orchestrator.token was accepted by ${o.url} and removed from ${ctx.configPath}; it is kept in ${ctx.secrets.backend}`),
      (e: Error) => ctx.logs.error(`could not remove orchestrator.token from ${ctx.configPath}: ${e.message} (remove it by hand; the token is stored)`),
    );
  };
}

/** Plugin sources' health for the heartbeat (an extension field: orchestrators ignore unknown fields, §3). */
function heartbeatSources(health: ReadonlyMap<string, SourceHealth> | undefined): HeartbeatFacts['sources'] {
  return [...(health ?? new Map<string, SourceHealth>())].map(([id, h]) => ({ id, healthy: h.ok, health: h.line, checked_at: h.checkedAt }));
}
