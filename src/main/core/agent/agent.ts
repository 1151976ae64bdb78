import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentApi, DesktopSettings, RestoreRequest, SnapshotInfo, ValidationResult } from '../../../shared/agent-api.js';
import { type RunRecord, succeeded } from '../../../shared/model/run.js';
import type { AgentStatus } from '../../../shared/model/status.js';
import type { AgentCore, OneShot } from './contract.js';
import type { PlatformProbes } from '../conditions/probes.js';
import { type Clock } from '../time/clock.js';
import { generatePassword } from '../config/demo.js';
import { loadConfigFile, validateConfigText } from '../config/load.js';
import type { AgentConfig } from '../config/types.js';
import { writeConfigFile } from '../config/write.js';
import { LogHub } from '../log/logger.js';
import { currentPlatformPaths } from '../paths.js';
import { type ResticVersion, versionNumber } from '../restic/restic.js';
import { RepoQueue } from '../scheduler/repo-queue.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { SecretStore } from '../secrets/secret-store.js';
import { AgentStateStore } from '../state/agent-state.js';
import { type StateDb } from '../state/db.js';
import { RunHistory } from '../state/run-history.js';
import type { EnrollRequest } from './enroll.js';
import { EventHub } from './event-hub.js';
import { SourceHealthMonitor } from './source-health.js';
import { checkPluginRestore, restorePluginSource } from './plugin-restore.js';
import { findSource } from '../plugins/source-id.js';
import type { RestoreTarget } from '../plugins/types.js';
import { createFreshnessWatchdog, FRESHNESS_INTERVAL_MS, logAlert, watchedSources } from './freshness.js';
import type { StalenessWatchdog } from '../scheduler/staleness.js';
import type { ManagedContext, ManagedLink } from '../managed/start.js';
import { UpdateStateFile } from '../update/state.js';
import { updateReport } from '../update/report.js';
import { type InstanceLock } from './instance-lock.js';
import { backupSource, jobRunner } from './job-runs.js';
import { RepositoryRegistry } from './repositories.js';
import { RunningRuns } from './running.js';
import { trackRun, type TrackerDeps } from './run-tracker.js';
import { desktopSettings, oneShot, probeRepository, saveDesktopSettings, setupStandalone } from './operations.js';
import { buildStatus } from './status.js';
import { AGENT_VERSION } from './version.js';
import { credentialOkKey, dialectKey, orchestratorScope, tokenAccounts } from '../managed/credentials.js';
import { z } from 'zod';

/** The agent core behind both shells; see `AgentCore`. */
export class Agent implements AgentCore {
  readonly logs: LogHub;
  readonly #history: RunHistory;
  readonly #state: AgentStateStore;
  readonly #queue: RepoQueue;
  readonly #running = new RunningRuns();
  readonly #events: EventHub;
  #repos: RepositoryRegistry;
  #scheduler: Scheduler;
  #stopped = false;
  readonly #freshness: StalenessWatchdog;
  readonly #health: SourceHealthMonitor;
  /** Repositories whose lock a killed run may have left; unlocked before their next operation. */
  readonly #staleLocks = new Set<string>();
  #managed: ManagedLink | null = null;
  #managedRetry: { timer: NodeJS.Timeout | null; delayMs: number } = { timer: null, delayMs: 5_000 };
  #started = false;

  constructor(
    readonly configPath: string,
    private config: AgentConfig,
    private readonly secrets: SecretStore,
    private readonly version: ResticVersion,
    private readonly db: StateDb,
    readonly createdDemo: boolean,
    private readonly lock: InstanceLock,
    private readonly time: { readonly clock: Clock; readonly probes: PlatformProbes },
  ) {
    this.#queue = new RepoQueue({ now: () => time.clock.now() });
    this.logs = new LogHub(config.agent.logLevel);
    this.#history = new RunHistory(db);
    this.#state = new AgentStateStore(db);
    // Only the owner of the data dir may call open runs interrupted: they may belong to a running daemon.
    if (lock.primary) {
      for (const r of this.#history.markInterrupted()) {
        this.logs.warn(`run ${r.id} (${r.kind}${r.source ? ` of ${r.source}` : ''}) was interrupted by an agent stop; last seen at ${r.endedAt}`);
        this.#staleLocks.add(r.repository);
      }
    }
    this.#events = new EventHub(() => this.#status());
    this.logs.subscribe((e) => this.#events.log(e));
    this.#repos = new RepositoryRegistry(config, secrets, version, this.logs, this.#staleLocks);
    this.#scheduler = this.#newScheduler();
    this.#freshness = createFreshnessWatchdog(
      () => this.config,
      () => this.#repos,
      this.#state,
      this.logs,
    );
    this.#freshness.on('alert', (a) => {
      this.#events.alert(a);
      this.#events.statusChanged();
    });
    this.#health = new SourceHealthMonitor(
      () => ({ config: this.config, secrets: this.secrets }),
      () => this.#events.statusChanged(),
    );
  }

  #newScheduler(): Scheduler {
    const scheduler = new Scheduler({
      config: this.config,
      state: this.#state,
      runner: jobRunner(() => this.#deps()),
      queue: this.#queue,
      clock: this.time.clock,
      probes: this.time.probes,
      repositoryReachable: async (name) => (await this.#probe(name)).reachable,
      logger: this.logs,
    });
    scheduler.on('plan-changed', () => this.#events.statusChanged());
    scheduler.on('job-finished', (f) => {
      // A new snapshot makes its source fresh: the backup's summary says so, no repository listing needed.
      if (f.job.kind === 'backup' && f.job.source && succeeded(f.outcome)) {
        this.#freshness.observed(f.job.repository, f.job.source, new Date(f.at));
        this.#events.statusChanged();
      }
    });
    scheduler.on('alert', (a) => {
      logAlert(this.logs, a);
      this.#events.alert(a);
    });
    scheduler.on('condition-blocked', (b) => this.logs.info(`waiting to back up ${b.source ?? b.repository}: ${b.reasons.join('; ')}`));
    return scheduler;
  }

  /** Starts the standalone schedules and, when configured, the orchestrator connection. */
  async startSchedules(): Promise<void> {
    this.#started = true;
    this.#scheduler.start();
    if (this.config.sources.length > 0) this.#freshness.start(FRESHNESS_INTERVAL_MS);
    if (this.config.sources.some((s) => s.plugin)) this.#health.start(FRESHNESS_INTERVAL_MS);
    await this.#startManaged();
    this.logs.info(
      `agent started (restic ${versionNumber(this.version)}, config ${this.configPath}, data dir ${this.config.agent.dataDir}, secrets in ${this.secrets.backend}, ${this.config.sources.length} source(s))`,
    );
  }

  async #startManaged(): Promise<void> {
    await this.#managed?.stop();
    this.#managed = null;
    if (!this.config.orchestrator) return;
    // Loaded on demand: a standalone agent (and every one-shot CLI command) never loads the HTTP stack.
    const { startManaged } = await import('../managed/start.js');
    this.#managed = await startManaged(this.#managedContext()).catch((e: Error) => {
      // E.g. `protocol: auto` with the orchestrator down at first start: try again with backoff, don't give up.
      const retry = this.#managedRetry;
      this.logs.error(`managed mode not started: ${e.message} (retrying in ${Math.round(retry.delayMs / 1000)} s)`);
      if (!this.#stopped) retry.timer = setTimeout(() => void this.#startManaged(), retry.delayMs);
      retry.delayMs = Math.min(retry.delayMs * 2, 5 * 60_000);
      return null;
    });
    if (this.#managed) this.#managedRetry = { timer: null, delayMs: 5_000 };
  }

  #managedContext(): ManagedContext {
    return {
      configPath: this.configPath,
      config: this.config,
      db: this.db,
      secrets: this.secrets,
      state: this.#state,
      logs: this.logs,
      agentVersion: AGENT_VERSION,
      resticVersion: versionNumber(this.version),
      deps: () => this.#deps(),
      onChange: () => this.#events.statusChanged(),
      sourceHealth: () => this.#health.last(),
      updateReport: () => updateReport(new UpdateStateFile(this.config.agent.dataDir).read()),
    };
  }

  #deps(): TrackerDeps {
    return {
      config: this.config,
      repos: this.#repos,
      history: this.#history,
      secrets: this.secrets,
      queue: this.#queue,
      running: this.#running,
      logs: this.logs,
      onProgress: (info) => this.#events.runProgress(info),
      onFinished: (record) => this.#events.runFinished(record),
      onChange: () => this.#events.statusChanged(),
    };
  }

  #status(): AgentStatus {
    return buildStatus({
      config: this.config,
      history: this.#history,
      schedules: this.#scheduler.nextRuns(),
      running: this.#running.list(),
      pausedUntil: this.#scheduler.pausedUntil(),
      resticVersion: this.version.raw,
      secretBackend: this.secrets.backend,
      agentVersion: AGENT_VERSION,
      snapshotAges: new Map(this.#freshness.last().map((f) => [`${f.repository}\0${f.source}`, f.ageMs === null ? null : Math.round(f.ageMs / 1000)])),
      health: this.#health.last(),
      orchestrator: this.#managed?.status() ?? null,
      credential: this.#credential(),
    });
  }

  /** Whose stored credential this is and when it last worked (also for a one-shot `status`). */
  #credential(): AgentStatus['credential'] {
    const o = this.config.orchestrator;
    if (!o) return null;
    const dialect = o.protocol !== 'auto' ? o.protocol : this.#state.get(dialectKey(o.url), z.enum(['v1', 'restic-monitor']));
    const lastWorkedAt = dialect ? this.#state.get(credentialOkKey(orchestratorScope(o.url, dialect)), z.string()) : null;
    return { orchestrator: o.url, dialect, lastWorkedAt };
  }

  on: AgentCore['on'] = (event, listener) => this.#events.on(event, listener);

  async getStatus(): Promise<AgentStatus> {
    // A one-shot `status` has no watchdog running: read the snapshot ages once so they are shown.
    if (!this.#started && this.#freshness.last().length === 0 && this.config.sources.length > 0) await this.#freshness.check().catch(() => []);
    if (!this.#started && this.#health.last().size === 0 && this.config.sources.some((s) => s.plugin)) await this.#health.check();
    return this.#status();
  }

  async backupNow(source: string | null): Promise<{ runIds: string[] }> {
    this.#knownSource(source);
    return { runIds: this.#scheduler.backupNow(source).map((j) => j.id) };
  }

  async checkNow(repository: string | null): Promise<{ runIds: string[] }> {
    if (repository) this.#repos.describe(repository);
    const scheduled = this.#scheduler.checkNow(repository);
    // Repositories without a `check:` schedule have no scheduler job: check them directly (structure only).
    const covered = new Set(scheduled.map((j) => j.repository));
    const rest = (repository ? [repository] : Object.keys(this.config.repositories)).filter((r) => !covered.has(r));
    const direct = rest.map((name) => {
      const runId = crypto.randomUUID();
      const meta = { runId, kind: 'check' as const, trigger: 'manual' as const, repository: name, source: null, policy: null, taskId: null };
      void trackRun(this.#deps(), meta, (restic, ctl) => restic.check({ readDataSubset: null }, ctl));
      return runId;
    });
    return { runIds: [...scheduled.map((j) => j.id), ...direct] };
  }

  async cancel(runId: string | null): Promise<void> {
    // Running runs abort through their signal; scheduled ones still waiting for the repository leave the queue.
    this.#running.cancel(runId);
    this.#scheduler.cancel(runId);
  }

  async pause(until: string | null): Promise<void> {
    const end = until === null ? Date.now() + this.config.pause.defaultMs : Date.parse(until);
    if (!Number.isFinite(end) || end <= Date.now()) throw new Error(`pause needs a time in the future, got "${until}"`);
    this.#scheduler.pause(end);
    this.logs.info(`paused until ${new Date(end).toISOString()}`);
    this.#events.statusChanged();
  }

  async resume(): Promise<void> {
    this.#scheduler.resume();
    this.logs.info('resumed');
    this.#events.statusChanged();
  }

  async getHistory(q: { limit: number; source?: string }): Promise<RunRecord[]> {
    return this.#history.list({ limit: clamp(q.limit, 1, 1000), source: q.source });
  }

  async getLogs(q: Parameters<AgentApi['getLogs']>[0]): Promise<ReturnType<LogHub['recent']>> {
    return this.logs.recent({ limit: clamp(q.limit, 1, 100_000), runId: q.runId, minLevel: q.minLevel });
  }

  async getConfig(): Promise<{ path: string; yaml: string }> {
    return { path: this.configPath, yaml: await readFile(this.configPath, 'utf8') };
  }

  async saveConfig(yaml: string): Promise<ValidationResult> {
    const checked = validateConfigText(yaml, this.configPath);
    if (!checked.ok) return { ok: false, errors: checked.errors };
    await writeConfigFile(this.configPath, yaml);
    await this.reload();
    return { ok: true };
  }

  /** Re-reads the config file and applies it without a restart (running restic is left to finish). */
  async reload(): Promise<void> {
    const { config } = await loadConfigFile(this.configPath);
    this.config = withDefaults(config, this.config.agent.dataDir, currentPlatformPaths().cacheDir);
    this.logs.setLevel(this.config.agent.logLevel);
    this.#repos = new RepositoryRegistry(this.config, this.secrets, this.version, this.logs, this.#staleLocks);
    this.#scheduler.reconfigure(this.config);
    this.#freshness.setSources(watchedSources(this.config));
    this.logs.info('configuration reloaded');
    this.#events.statusChanged();
  }

  async listSnapshots(repository: string | null): Promise<SnapshotInfo[]> {
    const names = repository ? [repository] : Object.keys(this.config.repositories);
    const out: SnapshotInfo[] = [];
    for (const name of names) {
      const restic = await this.#repos.get(name);
      for (const s of await restic.snapshots({}, { signal: AbortSignal.timeout(120_000) })) {
        out.push({ id: s.id, shortId: s.shortId, time: s.time, hostname: s.hostname, paths: s.paths, tags: s.tags, sizeBytes: s.totalBytesProcessed });
      }
    }
    return out.sort((a, b) => b.time.localeCompare(a.time));
  }

  async restore(r: RestoreRequest): Promise<{ runId: string }> {
    this.#repos.describe(r.repository);
    const runId = crypto.randomUUID();
    if (r.into) {
      const source = findSource(this.config.sources, r.into.source);
      const target: RestoreTarget = r.into.kind === 'file' ? { kind: 'file', path: r.into.name } : { kind: r.into.kind, name: r.into.name };
      checkPluginRestore(source, target); // refused now, to the caller, rather than as a failed run
      void restorePluginSource(this.#deps(), source, { runId, snapshotId: r.snapshotId, item: null, target }).catch((e: Error) =>
        this.logs.error(`restore of ${source.path}: ${e.message}`),
      );
      return { runId };
    }
    void trackRun(
      this.#deps(),
      { runId, kind: 'restore', trigger: 'manual', repository: r.repository, source: r.include, policy: null, taskId: null },
      (restic, ctl) => restic.restore({ snapshotId: r.snapshotId, include: r.include, target: r.target }, ctl),
    );
    return { runId };
  }

  testRepository: AgentApi['testRepository'] = (setup) => probeRepository(this.#repos, setup);
  generatePassword = async (): Promise<string> => generatePassword();

  async setupStandalone(setup: Parameters<AgentApi['setupStandalone']>[0]): Promise<ValidationResult> {
    const result = await setupStandalone(setup, { configPath: this.configPath, secrets: this.secrets, repos: this.#repos });
    if (result.ok) await this.reload();
    return result;
  }

  async setupManaged(setup: Parameters<AgentApi['setupManaged']>[0]): Promise<ValidationResult> {
    try {
      await this.enroll({
        url: setup.url,
        token: setup.enrollmentToken,
        caFile: setup.caFile,
        protocol: 'auto',
        insecureLoopback: setup.insecureLoopback ?? false,
      });
      return { ok: true };
    } catch (e) {
      return { ok: false, errors: [{ path: 'orchestrator', message: (e as Error).message }] };
    }
  }

  async enroll(e: EnrollRequest): Promise<{ agentId: string | null; dialect: string }> {
    const existing = this.config.orchestrator;
    if (existing && !e.force && (await this.#hasCredential(existing.url))) {
      const same = existing.url === e.url;
      throw new Error(
        `this agent is already enrolled with ${existing.url} (${existing.protocol}); enrolling again replaces the orchestrator section of ${this.configPath}` +
          `${same ? ' and the token stored for it' : ` (the token stored for ${existing.url} is kept, unused)`}: add --force to do that`,
      );
    }
    const { enrollAgent } = await import('./enroll.js');
    const result = await enrollAgent(e, {
      configPath: this.configPath,
      db: this.db,
      secrets: this.secrets,
      agentVersion: AGENT_VERSION,
      version: this.version,
      hostname: this.config.agent.hostname,
    });
    this.logs.info(`enrolled with ${e.url} (${result.dialect}${result.agentId ? `, agent ${result.agentId}` : ''}); the token is in ${this.secrets.backend}`);
    await this.reload();
    if (this.#started) await this.#startManaged();
    return result;
  }

  /** True when a token is stored for `url` in either dialect: an enrollment exists. */
  async #hasCredential(url: string): Promise<boolean> {
    for (const dialect of ['v1', 'restic-monitor'] as const) {
      if ((await this.secrets.get(tokenAccounts(orchestratorScope(url, dialect)).current)) !== null) return true;
    }
    return false;
  }

  getSettings = async (): Promise<DesktopSettings> => desktopSettings(this.#state);
  setSettings = async (s: Partial<DesktopSettings>): Promise<DesktopSettings> => saveDesktopSettings(this.#state, s);

  async runNow(op: OneShot): Promise<RunRecord[]> {
    return oneShot(op, this.config, this.#deps(), (source, signal) => backupSource(this.#deps(), source, { trigger: 'manual', retention: true, signal }));
  }

  wake(): void {
    this.#scheduler.wake();
    this.#scheduler.conditionsChanged();
  }

  async #probe(name: string): Promise<{ reachable: boolean | null }> {
    const probe = await (await this.#repos.get(name)).probe({ signal: AbortSignal.timeout(60_000) });
    return { reachable: probe.state === 'unreachable' ? false : probe.state === 'exists' ? true : null };
  }

  #knownSource(source: string | null): void {
    if (source && !this.config.sources.some((s) => s.path === source)) {
      throw new Error(`Unknown source "${source}" (configured: ${this.config.sources.map((s) => s.path).join(', ') || 'none'})`);
    }
  }

  dataDirOwner(): number | null {
    return this.lock.primary ? null : this.lock.ownerPid;
  }

  effectiveConfig(): AgentConfig {
    return this.config;
  }

  async holdForUpdate(): Promise<void> {
    this.#scheduler.hold(true);
    this.#managed?.drain(true);
    this.logs.info('update: waiting for running restic to finish; no new runs start');
    await Promise.all([this.#scheduler.idle(), this.#running.idle()]);
  }

  releaseHold(): void {
    this.#scheduler.hold(false);
    this.#managed?.drain(false);
  }

  async copyStateTo(file: string): Promise<void> {
    await this.db.backup(file);
  }

  async probeOrchestrator(): Promise<void> {
    if (!this.config.orchestrator) return;
    const { startManaged } = await import('../managed/start.js');
    await startManaged({ ...this.#managedContext(), probeOnly: true });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running.cancel(null, 'agent is shutting down');
    this.#freshness.stop();
    this.#health.stop();
    if (this.#managedRetry.timer) clearTimeout(this.#managedRetry.timer);
    await this.#managed?.stop();
    await this.#scheduler.stop();
    await this.#running.idle();
    this.#events.close();
    this.db.close();
    this.lock.release();
  }
}

/** Fills what only the running platform knows: the data dir override and a persistent restic cache. */
export function withDefaults(c: AgentConfig, dataDir: string | undefined, cacheDir: string): AgentConfig {
  return {
    ...c,
    agent: dataDir ? { ...c.agent, dataDir } : c.agent,
    restic: c.restic.cacheDir ? c.restic : { ...c.restic, cacheDir: join(cacheDir, 'restic') },
  };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(Number.isFinite(n) ? n : lo)));
}
