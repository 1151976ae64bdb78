import { stringify } from 'yaml';
import { z } from 'zod';
import type { DesktopSettings, RepositoryProbe, RepositorySetup, StandaloneSetup, ValidationResult } from '../../../shared/agent-api.js';
import type { RunRecord } from '../../../shared/model/run.js';
import type { OneShot } from './contract.js';
import { validateConfigText } from '../config/load.js';
import { looksLikeSecretEnv } from '../config/normalise.js';
import type { AgentConfig, SourceConfig } from '../config/types.js';
import { writeConfigFile } from '../config/write.js';
import { registerSecret } from '../log/redact.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { AgentStateStore } from '../state/agent-state.js';
import { findSource } from '../plugins/source-id.js';
import { restorePluginSource } from './plugin-restore.js';
import { applyRetentionRecords } from './retention.js';
import type { RepositoryRegistry } from './repositories.js';
import type { BackupWithRetention } from './job-runs.js';
import { trackRun, type TrackerDeps } from './run-tracker.js';

/** Runs a CLI one-shot operation on every matching source or repository and waits for the records. */
export async function oneShot(
  op: OneShot,
  config: AgentConfig,
  deps: TrackerDeps,
  backup: (source: SourceConfig, signal?: AbortSignal) => Promise<BackupWithRetention>,
): Promise<RunRecord[]> {
  if (op.kind === 'restore') return [await restorePluginSource(deps, findSource(config.sources, op.source), op)];
  if (op.kind === 'backup') {
    const sources = op.source === null ? config.sources : [findSource(config.sources, op.source)];
    if (sources.length === 0) throw new Error('No sources configured');
    const done = await Promise.all(sources.map((s) => backup(s)));
    return done.flatMap((r) => (r.retention ? [r.backup.record, r.retention] : [r.backup.record]));
  }
  const repos = op.repository === null ? Object.keys(config.repositories) : [deps.repos.describe(op.repository).name];
  const runs = repos.map(async (repository): Promise<RunRecord[]> => {
    const meta = { kind: op.kind, trigger: 'manual' as const, repository, source: null, policy: null, taskId: null };
    switch (op.kind) {
      case 'check':
        return [(await trackRun(deps, meta, (r, ctl) => r.check({ readDataSubset: op.readDataSubset }, ctl))).record];
      case 'prune':
        return [(await trackRun(deps, meta, (r, ctl) => r.prune({}, ctl))).record];
      case 'init':
        return [(await trackRun(deps, meta, (r, ctl) => r.init(ctl))).record];
      case 'unlock':
        return [(await trackRun(deps, meta, (r) => r.unlock())).record];
      case 'forget':
        return applyRetentionRecords(deps, repository, op.prune);
    }
  });
  return (await Promise.all(runs)).flat();
}

/** Opens a repository the wizard describes, without saving anything. */
export async function probeRepository(repos: RepositoryRegistry, setup: RepositorySetup): Promise<RepositoryProbe> {
  registerSecret(setup.password);
  const restic = repos.forAccess({ url: setup.url, password: { kind: 'value', value: setup.password }, env: setup.env });
  const p = await restic.probe({ signal: AbortSignal.timeout(60_000) });
  return { reachable: p.state !== 'unreachable', state: p.state, message: p.message };
}

/**
 * Saves the wizard's standalone setup: the password (and secret backend credentials) go to the SecretStore,
 * the rest to the YAML file; a missing repository is initialised first when asked to.
 */
export async function setupStandalone(
  setup: StandaloneSetup,
  ctx: { configPath: string; secrets: SecretStore; repos: RepositoryRegistry },
): Promise<ValidationResult> {
  const fail = (path: string, message: string): ValidationResult => ({ ok: false, errors: [{ path, message }] });
  if (setup.sources.length === 0) return fail('sources', 'choose at least one folder to back up');
  const probe = await probeRepository(ctx.repos, setup.repository);
  if (probe.state === 'wrong-password') return fail('repository.password', 'a repository exists there, but this password does not open it');
  if (probe.state === 'unreachable') return fail('repository.url', probe.message);
  if (probe.state === 'missing') {
    if (!setup.initialise) return fail('repository.url', 'no repository there yet: choose "create a new repository"');
    const restic = ctx.repos.forAccess({ url: setup.repository.url, password: { kind: 'value', value: setup.repository.password }, env: setup.repository.env });
    const init = await restic.init({ signal: AbortSignal.timeout(120_000) });
    if (init.outcome !== 'success') return fail('repository.url', init.message);
  }
  const env: Record<string, string> = {};
  const secretEnv: string[] = [];
  for (const [name, value] of Object.entries(setup.repository.env)) {
    // The same rule the config applies, so the file the wizard writes never warns about its own env.
    if (looksLikeSecretEnv(name)) {
      await ctx.secrets.set(`repo:default:env:${name}`, value);
      secretEnv.push(name);
    } else env[name] = value;
  }
  const yaml = stringify({
    repository: { url: setup.repository.url, ...(Object.keys(env).length ? { env } : {}), ...(secretEnv.length ? { secret_env: secretEnv } : {}) },
    backup: { sources: setup.sources.map((path) => ({ path, policy: setup.policy })), exclude: [...setup.exclude] },
  });
  const checked = validateConfigText(yaml, ctx.configPath);
  if (!checked.ok) return { ok: false, errors: checked.errors };
  await ctx.secrets.set('repo:default:password', setup.repository.password);
  await writeConfigFile(ctx.configPath, `# Written by the setup wizard. The password lives in the ${ctx.secrets.backend} store.\n${yaml}`);
  return { ok: true };
}

const settingsSchema = z.object({
  autoStart: z.boolean(),
  notifyOnSuccess: z.boolean(),
  notifyOnFailure: z.boolean(),
  notifyOnOverdue: z.boolean(),
});
const DEFAULT_SETTINGS: DesktopSettings = { autoStart: true, notifyOnSuccess: false, notifyOnFailure: true, notifyOnOverdue: true };

/** Desktop preferences, kept in the state DB so the tray app and a restart agree. */
export function desktopSettings(state: AgentStateStore): DesktopSettings {
  return state.get('desktop-settings', settingsSchema) ?? DEFAULT_SETTINGS;
}

export function saveDesktopSettings(state: AgentStateStore, change: Partial<DesktopSettings>): DesktopSettings {
  const next = settingsSchema.parse({ ...desktopSettings(state), ...change });
  state.set('desktop-settings', next);
  return next;
}
