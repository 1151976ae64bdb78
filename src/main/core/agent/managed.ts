import type { AgentStatus } from '../../../shared/model/status.js';
import { editConfigFile } from '../config/edit.js';
import type { AgentConfig, OrchestratorConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { migrateLegacyToken } from '../orchestrator/credentials.js';
import { defaultHeartbeatFacts } from '../orchestrator/heartbeat.js';
import { ManagedAgent } from '../orchestrator/managed-agent.js';
import { detectDialect, type Dialect } from '../restic-monitor/probe.js';
import { RmAgent } from '../restic-monitor/rm-agent.js';
import { matchRepository } from '../restic-monitor/task.js';
import { resolveRepoAccess } from '../secrets/resolve-repo.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { AgentStateStore } from '../state/agent-state.js';
import type { StateDb } from '../state/db.js';
import { z } from 'zod';
import { readFile } from 'node:fs/promises';
import type { TrackerDeps } from './run-tracker.js';
import { restMonitorExecutor, v1Executor } from './task-executor.js';

/** The connection to an orchestrator, whichever dialect it speaks. */
export interface ManagedLink {
  readonly dialect: Dialect;
  status(): NonNullable<AgentStatus['orchestrator']>;
  stop(): Promise<void>;
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
}

const dialectSchema = z.enum(['v1', 'restic-monitor']);

/** Starts managed mode when the config has an `orchestrator` section; null otherwise. */
export async function startManaged(ctx: ManagedContext): Promise<ManagedLink | null> {
  const o = ctx.config.orchestrator;
  if (!o) return null;
  await moveLegacyToken(ctx, o);
  const dialect = await chooseDialect(ctx, o);
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
      heartbeatFacts: () => defaultHeartbeatFacts(mounts),
      log: ctx.logs,
      onState: (s) => {
        if (!s.offline) lastContactAt = new Date().toISOString();
        ctx.onChange();
      },
    });
    await agent.start();
    return {
      dialect,
      status: () => ({ url: o.url, connected: !agent.status().offline, lastContactAt }),
      stop: () => agent.stop(),
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
  });
  await agent.start();
  return {
    dialect,
    status: () => {
      const s = agent.status();
      if (s.connected) lastContactAt = new Date().toISOString();
      return { url: o.url, connected: s.connected, lastContactAt };
    },
    stop: () => agent.stop(),
  };
}

/** The PEM of `orchestrator.ca_file` (null when none), with an error that names the setting. */
export async function readCaFile(path: string | null): Promise<string | null> {
  if (!path) return null;
  return readFile(path, 'utf8').catch((e: Error) => {
    throw new Error(`orchestrator.ca_file: cannot read ${path}: ${e.message}`);
  });
}

/** `protocol: auto` probes once and remembers the answer in the state DB. */
async function chooseDialect(ctx: ManagedContext, o: OrchestratorConfig): Promise<Dialect> {
  if (o.protocol !== 'auto') return o.protocol;
  const key = `orchestrator-dialect:${o.url}`;
  const known = ctx.state.get(key, dialectSchema);
  if (known) return known;
  const found = await detectDialect(o.url, { insecureLoopback: o.insecureLoopback, ca: await readCaFile(o.caFile) });
  ctx.state.set(key, found);
  ctx.logs.info(`orchestrator at ${o.url} speaks ${found === 'v1' ? 'protocol v1' : 'the restic-monitor API'} (remembered)`);
  return found;
}

/** A token written into the YAML (as the original design did) moves to the secret store, and out of the file. */
async function moveLegacyToken(ctx: ManagedContext, o: OrchestratorConfig): Promise<void> {
  await migrateLegacyToken(o.legacyToken, ctx.secrets, async ({ backend }) => {
    await editConfigFile(ctx.configPath, (doc) => doc.deleteIn(['orchestrator', 'token']));
    ctx.logs.warn(`the orchestrator token was moved from ${ctx.configPath} into the ${backend} secret store and removed from the file`);
  });
}
