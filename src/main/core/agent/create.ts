import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { recoverPlugins } from '../plugins/context.js';
import type { AgentCore, AgentCoreOptions } from './contract.js';
import { createPlatformProbes } from '../conditions/platform.js';
import { systemClock } from '../time/clock.js';
import { checkPaths } from '../config/check-paths.js';
import { createDemoSetup } from '../config/demo.js';
import { ConfigError, loadConfigFile } from '../config/load.js';
import { writeConfigFile } from '../config/write.js';
import { currentPlatformPaths, dataDirFor } from '../paths.js';
import { currentNormaliseContext } from '../config/normalise.js';
import { detectResticVersionCached } from '../restic/version.js';
import { openSecretStore } from '../secrets/open-secret-store.js';
import { openStateDbRecovering } from '../state/db.js';
import { stateMigrations } from '../state/migrations.js';
import { orchestratorMigrations } from '../managed/v1/outbox.js';
import { rmMigrations } from '../managed/restic-monitor/store.js';
import { acquireInstanceLock } from './instance-lock.js';
import { Agent, withDefaults } from './agent.js';

/**
 * Starts the agent core: loads (or, on first run, creates) the configuration, opens the secret store and the
 * state database, detects restic, and — unless `schedule` is false — runs the standalone schedules.
 */
export async function createAgentCore(opts: AgentCoreOptions): Promise<AgentCore> {
  const platform = currentPlatformPaths();
  let createdDemo = false;
  let secrets = opts.secretStore;
  const ifMissing = opts.ifMissing ?? 'fail';
  if (!existsSync(opts.configPath)) {
    if (ifMissing === 'fail') {
      throw new ConfigError(opts.configPath, [
        {
          path: '',
          message: `no configuration file at ${opts.configPath}: create one (see examples/) or start \`restic-agent run\` once to get the demo defaults`,
        },
      ]);
    }
    if (ifMissing === 'empty') {
      await writeConfigFile(opts.configPath, '# Restic Monitor Agent configuration (see docs/configuration.md; the desktop setup wizard fills it in).\n');
    } else {
      const dataDir = opts.dataDir ?? dataDirFor(opts.configPath);
      secrets ??= await openSecretStore({ backend: 'auto', file: null }, dataDir);
      await createDemoSetup(dataDir, secrets, { configPath: opts.configPath });
      createdDemo = true;
    }
  }
  const { config: loaded, warnings } = await loadConfigFile(opts.configPath, { ...currentNormaliseContext(), dataDir: dataDirFor(opts.configPath) });
  const paths = checkPaths(loaded);
  if (paths.errors.length) throw new ConfigError(opts.configPath, paths.errors);
  warnings.push(...paths.warnings);
  const config = withDefaults(loaded, opts.dataDir, platform.cacheDir);
  secrets ??= await openSecretStore(config.secrets, config.agent.dataDir);
  const version = await detectResticVersionCached(config.restic.binary, join(config.agent.dataDir, 'restic-version.json'));
  mkdirSync(config.agent.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireInstanceLock(config.agent.dataDir);
  const schedule = opts.schedule ?? true;
  if (schedule && !lock.primary) {
    throw new Error(`another restic-agent (pid ${lock.ownerPid}) is already running with ${config.agent.dataDir}: stop it first`);
  }
  // What plugin runs a crash interrupted left (credential files, stopped containers); only the primary owns them.
  const recovered = lock.primary ? await recoverPlugins(config.agent.dataDir) : [];
  let state: ReturnType<typeof openStateDbRecovering>;
  try {
    // Only the owner of the data dir may move a damaged database aside: the file may be a running daemon's.
    state = openStateDbRecovering(opts.stateFile ?? join(config.agent.dataDir, 'state.db'), [...stateMigrations, ...orchestratorMigrations, ...rmMigrations], {
      recover: (opts.recoverCorruptState ?? true) && lock.primary && !opts.stateFile,
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  const db = state.db;
  const agent = new Agent(opts.configPath, config, secrets, version, db, createdDemo, lock, {
    clock: opts.clock ?? systemClock,
    probes: opts.probes ?? createPlatformProbes(),
  });
  if (opts.onLog) agent.logs.subscribe(opts.onLog);
  for (const w of [...warnings, ...recovered]) agent.logs.warn(w);
  if (state.movedAside) {
    agent.logs.error(
      `the state database was damaged: moved it aside to ${state.movedAside} and started with a fresh one (run history and unsent reports are in the old file; snapshots are safe in the repository)`,
    );
  }
  if (createdDemo) await agent.runNow({ kind: 'init', repository: null });
  if (schedule) await agent.startSchedules();
  return agent;
}
