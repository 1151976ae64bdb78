import { hostname as osHostname, homedir as osHomedir } from 'node:os';
import { posix, win32 } from 'node:path';
import { currentPlatformPaths } from '../paths.js';
import {
  BUILTIN_POLICIES,
  DEFAULT_CHECK_SCHEDULE,
  DEFAULT_CONDITIONS,
  DEFAULT_PRUNE_SCHEDULE,
  DEFAULT_READ_DATA_CYCLE,
  DEFAULT_RETRY,
  DEFAULT_THROTTLE,
  MAINTENANCE_CONDITIONS,
} from './builtin-policies.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { RawConfig, RawPolicy, RawRepository, RawSchedule } from './schema.js';
import { didYouMean } from './suggest.js';
import type { PluginKind } from '../plugins/registry.js';
import { pluginSourceId } from '../plugins/source-id.js';
import type { PluginInstanceBase } from '../plugins/types.js';
import { formatDuration } from './units.js';
import { checkOrchestratorUrl, OrchestratorConfigError } from '../managed/transport.js';
import { feedBase } from '../update/feed.js';
import type { UpdateConfig } from '../update/updater.js';
import type { RawHooks } from './schema-parts.js';
import type {
  AgentConfig,
  OrchestratorConfig,
  PolicyConfig,
  RepositoryConfig,
  Retention,
  RunConditions,
  Schedule,
  SourceConfig,
  SourceHooks,
  HookLayer,
} from './types.js';

/** Machine facts the defaults depend on (passed in so tests are deterministic). */
export interface NormaliseContext {
  readonly hostname: string;
  readonly homedir: string;
  /** Default `agent.data_dir`. */
  readonly dataDir: string;
}

/** The context of the current process: `os.hostname()`, the home directory, the platform data dir. */
export function currentNormaliseContext(): NormaliseContext {
  return { hostname: osHostname(), homedir: osHomedir(), dataDir: currentPlatformPaths().dataDir };
}

/** Name of the repository a single top-level `repository:` section becomes. */
export const DEFAULT_REPOSITORY = 'default';
/** Policy of a source that names none. */
export const DEFAULT_POLICY = 'daily';

interface NamedRepo {
  readonly raw: RawRepository;
  /** Where it is in the file, for messages: `repository` or `repositories.s3`. */
  readonly path: string;
}

function repositoriesOf(raw: RawConfig): Map<string, NamedRepo> {
  const out = new Map<string, NamedRepo>();
  for (const [name, repo] of Object.entries(raw.repositories ?? {})) out.set(name, { raw: repo, path: `repositories.${name}` });
  if (raw.repository && !out.has(DEFAULT_REPOSITORY)) out.set(DEFAULT_REPOSITORY, { raw: raw.repository, path: 'repository' });
  return out;
}

/** The repository a source without `repository:` uses: the only one, or the one named `default`. */
function implicitRepository(repos: ReadonlyMap<string, NamedRepo>): string | null {
  if (repos.has(DEFAULT_REPOSITORY)) return DEFAULT_REPOSITORY;
  return repos.size === 1 ? ([...repos.keys()][0] ?? null) : null;
}

const URL_PASSWORD = /^(.*?[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/i;

/** Absolute on this platform or on Windows (`C:\\`, `\\\\server`), or home-relative (`~`, `~/…`). */
export function isAbsoluteSourcePath(p: string): boolean {
  return p === '~' || p.startsWith('~/') || posix.isAbsolute(p) || win32.isAbsolute(p);
}

/** Checks that need more than one section: names referenced by sources, secrets in URLs, orchestrator URL. */
export function crossCheck(raw: RawConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const repos = repositoriesOf(raw);
  const policies = new Set([...Object.keys(BUILTIN_POLICIES), ...Object.keys(raw.policies ?? {})]);

  if (raw.repository && raw.repositories?.[DEFAULT_REPOSITORY]) {
    issues.push({
      path: 'repository',
      message: `conflicts with repositories.${DEFAULT_REPOSITORY}: a single "repository:" is the repository named "${DEFAULT_REPOSITORY}"; keep one of them`,
    });
  }
  for (const [, { raw: repo, path }] of repos) {
    const m = URL_PASSWORD.exec(repo.url);
    if (m) {
      issues.push({
        path: `${path}.url`,
        message: `contains a password in plain text ("${m[1] ?? ''}***@…"); remove it from the URL and put the credential in the SecretStore via secret_env (e.g. RESTIC_REST_PASSWORD), with the user name in env (RESTIC_REST_USERNAME)`,
      });
    }
  }
  for (const [name, p] of Object.entries(raw.policies ?? {})) {
    if (!p.schedule && !(name in BUILTIN_POLICIES)) {
      issues.push({
        path: `policies.${name}.schedule`,
        message: `required for a policy that is not built in (${Object.keys(BUILTIN_POLICIES).join(', ')}), e.g. "0 3 * * *" or "every 6h"`,
      });
    }
    const baseRetry = BUILTIN_POLICIES[name]?.retry ?? DEFAULT_RETRY;
    const initial = p.retry?.initial_delay ?? baseRetry.initialDelayMs;
    const max = p.retry?.max_delay ?? baseRetry.maxDelayMs;
    if (initial > max) {
      const at = p.retry?.initial_delay !== undefined ? 'initial_delay' : 'max_delay';
      issues.push({
        path: `policies.${name}.retry.${at}`,
        message: `initial_delay (${formatDuration(initial)}) must not be longer than max_delay (${formatDuration(max)})`,
      });
    }
  }
  const implicit = implicitRepository(repos);
  const checkRefs = (at: string, policy: string, repository: string | undefined): void => {
    if (!policies.has(policy)) {
      issues.push({
        path: `${at}.policy`,
        message: `unknown policy "${policy}"${didYouMean(policy, policies)}; known policies: ${[...policies].join(', ')} (define it under "policies:")`,
      });
    }
    if (repository !== undefined) {
      if (!repos.has(repository)) {
        const known = repos.size ? `known repositories: ${[...repos.keys()].join(', ')}` : 'no repository is configured';
        issues.push({ path: `${at}.repository`, message: `unknown repository "${repository}"${didYouMean(repository, repos.keys())}; ${known}` });
      }
    } else if (repos.size === 0) {
      issues.push({
        path: at,
        message: 'no repository to back up to: add a "repository:" section (url and password_file, password_command or password_keyring)',
      });
    } else if (!implicit) {
      issues.push({ path: `${at}.repository`, message: `required when several repositories are configured: one of ${[...repos.keys()].join(', ')}` });
    }
  };
  (raw.backup?.sources ?? []).forEach((s, i) => {
    const at = `backup.sources[${i}]`;
    if (!isAbsoluteSourcePath(s.path)) {
      issues.push({
        path: `${at}.path`,
        message: `"${s.path}" is a relative path: write it absolute ("/srv/data") or from the home directory ("~/Documents")`,
      });
    }
    checkRefs(at, s.policy ?? DEFAULT_POLICY, s.repository);
  });
  const pluginNames = new Map<string, string>();
  for (const { kind, at, instance, single } of pluginInstances(raw)) {
    if (!single && instance.name === undefined) issues.push({ path: `${at}.name`, message: `required when plugins.${kind} is a list: a name for this source` });
    const id = pluginSourceId(kind, instance.name ?? kind);
    const seen = pluginNames.get(id);
    if (seen) issues.push({ path: `${at}.name`, message: `"${instance.name ?? kind}" is already the name of ${seen}: give each ${kind} source its own name` });
    pluginNames.set(id, at);
    checkRefs(at, instance.policy ?? DEFAULT_POLICY, instance.repository);
  }
  if (raw.update?.feed) {
    try {
      feedBase(raw.update.feed);
    } catch (e) {
      issues.push({ path: 'update.feed', message: (e as Error).message.replace(/^update\.feed: /, '') });
    }
  }
  if (raw.orchestrator) {
    try {
      checkOrchestratorUrl(raw.orchestrator.url, raw.orchestrator.insecure_loopback ?? false);
    } catch (e) {
      // The clients' own rule (https, or http to any loopback address with insecure_loopback), so config
      // validation accepts exactly what the clients then accept.
      if (!(e instanceof OrchestratorConfigError)) throw e;
      if (!/user:password/.test(e.message)) issues.push({ path: 'orchestrator.url', message: e.message.replace(/^orchestrator\.url: /, '') });
    }
    if (URL_PASSWORD.test(raw.orchestrator.url)) {
      issues.push({ path: 'orchestrator.url', message: 'contains a password in plain text; remove it (the agent authenticates with its enrolment token)' });
    }
  }
  return issues;
}

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|ACCOUNT_KEY|PRIVATE_KEY|CREDENTIAL/i;

/** Whether a backend variable holds a secret (belongs in `secret_env`); key ids such as AWS_ACCESS_KEY_ID do not. */
export function looksLikeSecretEnv(name: string): boolean {
  return SECRET_NAME.test(name) && name !== 'AWS_ACCESS_KEY_ID';
}

/** Things that work but deserve a word: secrets in plain `env`, a legacy token in the file. */
export function configWarnings(raw: RawConfig): string[] {
  const warnings: string[] = [];
  for (const [, { raw: repo, path }] of repositoriesOf(raw)) {
    for (const key of Object.keys(repo.env ?? {})) {
      if (looksLikeSecretEnv(key)) {
        warnings.push(
          `${path}.env.${key} looks like a secret stored in plain text: list it under secret_env and store the value with the agent (account repo:<name>:env:${key})`,
        );
      }
    }
  }
  if (raw.orchestrator?.token) {
    warnings.push('orchestrator.token is deprecated: the agent moves it into the SecretStore on first start; remove it from the file afterwards');
  }
  return warnings;
}

/** Every enabled plugin instance of the file, with its key path (`plugins.command[0]`, or `plugins.mysql` for the single form). */
function pluginInstances(raw: RawConfig): Array<{ kind: PluginKind; at: string; instance: PluginInstanceBase; single: boolean }> {
  return Object.entries(raw.plugins ?? {}).flatMap(([kind, value]) => {
    if (value === undefined) return [];
    const single = !Array.isArray(value);
    const list: PluginInstanceBase[] = single ? [value] : value;
    return list
      .map((instance, i) => ({ kind: kind as PluginKind, at: single ? `plugins.${kind}` : `plugins.${kind}[${i}]`, instance, single }))
      .filter((p) => p.instance.enabled !== false);
  });
}

/** How long a hook may take when `hooks.timeout` does not say. */
const DEFAULT_HOOK_TIMEOUT_MS = 15 * 60_000;

/** A source without hooks. */
export const NO_HOOKS: SourceHooks = sourceHooks(undefined, undefined);

/** The global hooks around the source's own. */
function sourceHooks(global: RawHooks | undefined, own: RawHooks | undefined): SourceHooks {
  const layer = (h: RawHooks | undefined): HookLayer[] =>
    h && (h.before ?? h.after ?? h.on_failure) ? [{ before: h.before, after: h.after, onFailure: h.on_failure }] : [];
  return { layers: [...layer(global), ...layer(own)], timeoutMs: own?.timeout ?? global?.timeout ?? DEFAULT_HOOK_TIMEOUT_MS };
}

/**
 * Turns a schema-validated file into the normalised `AgentConfig`: defaults, built-in policies merged with
 * the file's, the single `repository:` named `default`, a leading `~/` expanded in paths and excludes. Throws `ConfigError` when a
 * cross-section check fails.
 */
export function normalise(raw: RawConfig, ctx: NormaliseContext = currentNormaliseContext()): AgentConfig {
  const issues = crossCheck(raw);
  if (issues.length) throw new ConfigError('configuration', issues);
  const home = (p: string): string => (p === '~' ? ctx.homedir : p.startsWith('~/') ? ctx.homedir + p.slice(1) : p);
  const homeOrNull = (p: string | undefined): string | null => (p === undefined ? null : home(p));

  const implicit = implicitRepository(repositoriesOf(raw));
  const globalExclude = (raw.backup?.exclude ?? []).map(home);
  const sources: SourceConfig[] = (raw.backup?.sources ?? []).map((s) => ({
    path: home(s.path),
    policy: s.policy ?? DEFAULT_POLICY,
    repository: s.repository ?? implicit ?? DEFAULT_REPOSITORY,
    exclude: [...globalExclude, ...(s.exclude ?? []).map(home)],
    tags: s.tags ?? [],
    plugin: null,
    hooks: sourceHooks(raw.hooks, s.hooks),
  }));
  for (const { kind, instance } of pluginInstances(raw)) {
    const name = instance.name ?? kind;
    sources.push({
      path: pluginSourceId(kind, name),
      policy: instance.policy ?? DEFAULT_POLICY,
      repository: instance.repository ?? implicit ?? DEFAULT_REPOSITORY,
      exclude: [],
      tags: [...(instance.tags ?? []), `plugin:${kind}`, `source:${name}`],
      plugin: { kind, name, instance },
      hooks: sourceHooks(raw.hooks, instance.hooks),
    });
  }
  const policies: Record<string, PolicyConfig> = { ...BUILTIN_POLICIES };
  for (const [name, p] of Object.entries(raw.policies ?? {})) policies[name] = mergePolicy(name, p, BUILTIN_POLICIES[name]);
  const repositories = Object.fromEntries(
    [...repositoriesOf(raw)].map(([name, { raw: r }]) => {
      const own = sources.filter((s) => s.repository === name);
      // Default maintenance only where the agent backs up; a policy with `prune: maintenance` (YAML `true`) asks for it.
      const defaults = { check: own.length > 0, prune: own.some((s) => policies[s.policy]?.prune === 'maintenance') };
      return [name, repositoryOf(name, r, home, defaults)] as const;
    }),
  );

  const hostname = raw.agent?.hostname ?? ctx.hostname;
  return {
    agent: {
      id: raw.agent?.id ?? hostname.replace(/[^A-Za-z0-9_.@-]/g, '-'),
      hostname,
      pollIntervalMs: raw.agent?.poll_interval ?? 60_000,
      heartbeatIntervalMs: raw.agent?.heartbeat_interval ?? 30_000,
      dataDir: homeOrNull(raw.agent?.data_dir) ?? ctx.dataDir,
      logLevel: raw.agent?.log_level ?? 'info',
      catchUpDelayMs: raw.agent?.catch_up_delay ?? 120_000,
    },
    restic: {
      binary: home(raw.restic?.binary ?? 'restic'),
      cacheDir: homeOrNull(raw.restic?.cache_dir),
      configDir: homeOrNull(raw.restic?.config_dir),
      cancelGraceMs: raw.restic?.cancel_grace ?? 10_000,
      stallTimeoutMs: raw.restic?.stall_timeout ?? 0,
      runTimeoutMs: raw.restic?.run_timeout ?? 0,
      retryLockMs: raw.restic?.retry_lock ?? 120_000,
    },
    repositories,
    sources,
    policies,
    secrets: { backend: raw.secrets?.backend ?? 'auto', file: homeOrNull(raw.secrets?.file) },
    pause: { defaultMs: raw.pause?.default ?? 3_600_000 },
    orchestrator: orchestratorOf(raw, home),
    update: updateOf(raw, home),
  };
}

function updateOf(raw: RawConfig, home: (p: string) => string): UpdateConfig {
  const u = raw.update ?? {};
  const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const [from, to] = u.window?.split('-') ?? [];
  return {
    enabled: u.enabled ?? null,
    channel: u.channel ?? 'stable',
    feed: u.feed === undefined ? null : /^[a-z][a-z0-9+.-]*:\/\//i.test(u.feed) ? u.feed : home(u.feed),
    window: from && to ? { from: minutes(from), to: minutes(to) } : null,
    publicKeys: u.public_keys ?? [],
    caFile: u.ca_file === undefined ? null : home(u.ca_file),
    checkEveryMs: u.check_every ?? 6 * 3_600_000,
    healthTimeoutMs: u.health_timeout ?? 120_000,
  };
}

function repositoryOf(name: string, r: RawRepository, home: (p: string) => string, defaults: { check: boolean; prune: boolean }): RepositoryConfig {
  const password: RepositoryConfig['password'] =
    r.password_file !== undefined
      ? { kind: 'file', path: home(r.password_file) }
      : r.password_command !== undefined
        ? { kind: 'command', command: r.password_command }
        : { kind: 'keyring', account: r.password_keyring ?? `repo:${name}:password` };
  return {
    name,
    url: r.url,
    password,
    env: r.env ?? {},
    secretEnv: r.secret_env ?? [],
    check:
      r.check === false || (r.check === undefined && !defaults.check)
        ? null
        : {
            schedule: maintenanceSchedule(r.check?.schedule, r.check?.timezone, DEFAULT_CHECK_SCHEDULE),
            jitterMs: r.check?.schedule ? 0 : MAINTENANCE_JITTER_MS,
            conditions: conditionsOf(r.check?.conditions, MAINTENANCE_CONDITIONS),
            readDataSubset: r.check?.read_data_subset ?? null,
            readDataCycle: r.check?.read_data_cycle ?? DEFAULT_READ_DATA_CYCLE,
          },
    prune:
      r.prune === false || (r.prune === undefined && !defaults.prune)
        ? null
        : {
            schedule: maintenanceSchedule(r.prune?.schedule, r.prune?.timezone, DEFAULT_PRUNE_SCHEDULE),
            jitterMs: r.prune?.schedule ? 0 : MAINTENANCE_JITTER_MS,
            conditions: conditionsOf(r.prune?.conditions, MAINTENANCE_CONDITIONS),
            maxUnused: r.prune?.max_unused ?? null,
            maxRepackSize: r.prune?.max_repack_size ?? null,
          },
  };
}

const MAINTENANCE_JITTER_MS = 60 * 60_000;

function maintenanceSchedule(s: RawSchedule | undefined, timezone: string | undefined, fallback: string): Schedule {
  return s ? scheduleOf(s, timezone ?? null) : { kind: 'cron', expression: fallback, timezone: timezone ?? null };
}

function conditionsOf(c: RawPolicy['conditions'], b: RunConditions): RunConditions {
  return {
    acPowerOnly: c?.ac_power_only ?? b.acPowerOnly,
    notOnMetered: c?.not_on_metered ?? b.notOnMetered,
    minFreeCacheBytes: c?.min_free_cache ?? b.minFreeCacheBytes,
    requireRepositoryReachable: c?.require_repository_reachable ?? b.requireRepositoryReachable,
    deadlineMs: c?.deadline ?? b.deadlineMs,
  };
}

function scheduleOf(s: RawSchedule, timezone: string | null): Schedule {
  return s.kind === 'cron' ? { kind: 'cron', expression: s.expression, timezone } : s;
}

function retentionOf(r: NonNullable<RawPolicy['retention']>): Retention {
  const out: { -readonly [K in keyof Retention]: Retention[K] } = {};
  if (r.keep_last !== undefined) out.keepLast = r.keep_last;
  if (r.keep_hourly !== undefined) out.keepHourly = r.keep_hourly;
  if (r.keep_daily !== undefined) out.keepDaily = r.keep_daily;
  if (r.keep_weekly !== undefined) out.keepWeekly = r.keep_weekly;
  if (r.keep_monthly !== undefined) out.keepMonthly = r.keep_monthly;
  if (r.keep_yearly !== undefined) out.keepYearly = r.keep_yearly;
  if (r.keep_within !== undefined) out.keepWithin = r.keep_within;
  return out;
}

/** A file policy over its built-in namesake (if any): each given field wins; `retention` is replaced whole. */
function mergePolicy(name: string, p: RawPolicy, base: PolicyConfig | undefined): PolicyConfig {
  const baseTz = base?.schedule.kind === 'cron' ? base.schedule.timezone : null;
  const tz = p.timezone ?? baseTz;
  // crossCheck guarantees a schedule for non-built-in policies.
  const schedule: Schedule = p.schedule ? scheduleOf(p.schedule, tz) : base ? withTimezone(base.schedule, tz) : { kind: 'every', intervalMs: 86_400_000 };
  const rt = base?.retry ?? DEFAULT_RETRY;
  const th = base?.throttle ?? DEFAULT_THROTTLE;
  return {
    name,
    schedule,
    jitterMs: p.jitter ?? base?.jitterMs ?? 0,
    retention: p.retention === undefined ? (base?.retention ?? null) : p.retention === null ? null : retentionOf(p.retention),
    prune: p.prune === undefined ? (base?.prune ?? 'never') : p.prune === 'after_backup' ? 'after_backup' : p.prune ? 'maintenance' : 'never',
    conditions: conditionsOf(p.conditions, base?.conditions ?? DEFAULT_CONDITIONS),
    retry: {
      maxAttempts: p.retry?.max_attempts ?? rt.maxAttempts,
      initialDelayMs: p.retry?.initial_delay ?? rt.initialDelayMs,
      maxDelayMs: p.retry?.max_delay ?? rt.maxDelayMs,
    },
    throttle: {
      limitUploadKiBs: p.throttle?.limit_upload ?? th.limitUploadKiBs,
      limitDownloadKiBs: p.throttle?.limit_download ?? th.limitDownloadKiBs,
      lowPriority: p.throttle?.low_priority ?? th.lowPriority,
      readConcurrency: p.throttle?.read_concurrency ?? th.readConcurrency,
    },
    staleAfterMs: p.stale_after ?? base?.staleAfterMs ?? 0,
  };
}

function withTimezone(s: Schedule, timezone: string | null): Schedule {
  return s.kind === 'cron' ? { ...s, timezone } : s;
}

function orchestratorOf(raw: RawConfig, home: (p: string) => string): OrchestratorConfig | null {
  const o = raw.orchestrator;
  if (!o) return null;
  return {
    url: o.url,
    protocol: o.protocol ?? 'auto',
    caFile: o.ca_file === undefined ? null : home(o.ca_file),
    insecureLoopback: o.insecure_loopback ?? false,
    legacyToken: o.token ?? null,
  };
}
