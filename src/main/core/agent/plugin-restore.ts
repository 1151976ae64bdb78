import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { RunRecord } from '../../../shared/model/run.js';
import type { SourceConfig } from '../config/types.js';
import { redact } from '../log/redact.js';
import { dbToken, ITEM_TAG_PREFIXES } from '../plugins/base-schema.js';
import { withPluginContext } from '../plugins/context.js';
import { sourcePlugin } from '../plugins/registry.js';
import { runPluginCommand } from '../plugins/run.js';
import { snapshotFilter } from '../plugins/source-id.js';
import type { DumpSink, PluginCommand, RestoreTarget } from '../plugins/types.js';
import { dumpEnv } from '../restic/env.js';
import type { Restic, SnapshotRecord } from '../restic/restic.js';
import { notRun } from './plugin-backup.js';
import { trackRun, type TrackerDeps } from './run-tracker.js';

/** `restic-agent restore <source> [--snapshot ID] [--db NAME] --to-database NAME | --to-volume NAME | --to FILE`. */
export interface PluginRestore {
  /** The run's id, when the caller needs it before the run ends (the desktop follows its progress). */
  readonly runId?: string;
  readonly snapshotId: string | null;
  /** Which database or volume, of a source that backs up several (its `db:<name>` or `volume:<name>` tag). */
  readonly item: string | null;
  readonly target: RestoreTarget;
}

/**
 * Restores one stream of a plugin source: `restic dump` of the chosen snapshot piped into the plugin's restore
 * command (`createdb` then `pg_restore`), or into a new file. The run is queued, recorded and cancellable like
 * any other.
 */
export async function restorePluginSource(deps: TrackerDeps, source: SourceConfig, r: PluginRestore): Promise<RunRecord> {
  const plugin = checkPluginRestore(source, r.target);
  const { record } = await trackRun(
    deps,
    { runId: r.runId, kind: 'restore', trigger: 'manual', repository: source.repository, source: source.path, policy: null, taskId: null },
    async (restic, ctl) => {
      const snap = await pickSnapshot(restic, source, r, deps.config.agent.hostname);
      const path = snap.paths[0] ?? '';
      if (r.target.kind === 'file') {
        const done = await restic.dump({ snapshotId: snap.id, path, to: { file: r.target.path } }, ctl);
        if (done.outcome !== 'success') await rm(r.target.path, { force: true });
        return done;
      }
      const target = r.target;
      return withPluginContext({ kind: plugin.kind, dataDir: deps.config.agent.dataDir, secrets: deps.secrets, signal: ctl.signal }, async (ctx) => {
        const restore = sourcePlugin(plugin.kind).restore;
        if (!restore) return notRun(`a ${plugin.kind} source restores only to a file (--to FILE)`);
        let last: PluginCommand | DumpSink | undefined;
        try {
          const plan = await restore(plugin.instance, ctx, target, snap);
          if ('write' in plan) last = plan;
          else {
            last = plan.at(-1);
            for (const c of plan.slice(0, -1)) await runPluginCommand(c, ctx.signal);
          }
        } catch (e) {
          return notRun(redact((e as Error).message));
        }
        if (!last) return notRun(`the ${plugin.kind} plugin gave no restore command`);
        return restic.dump({ snapshotId: snap.id, path, to: 'write' in last ? last : { command: last.command, env: dumpEnv(last.env) } }, ctl);
      });
    },
  );
  return record;
}

/** What refuses a restore before it is queued: a folder source, or a file target that exists. */
export function checkPluginRestore(source: SourceConfig, target: RestoreTarget): NonNullable<SourceConfig['plugin']> {
  const plugin = source.plugin;
  if (!plugin) throw new Error(`${source.path} is a folder: restore it with restic restore (or the desktop Snapshots screen)`);
  if (target.kind === 'file' && existsSync(target.path)) throw new Error(`${target.path} exists: a restore never overwrites a file, give a new name`);
  return plugin;
}

/** The snapshot to restore: the one given, else this host's newest of the database asked for (or the only one). */
async function pickSnapshot(restic: Restic, source: SourceConfig, r: PluginRestore, hostname: string): Promise<SnapshotRecord> {
  const filter = snapshotFilter(source);
  if (r.snapshotId) {
    const id = r.snapshotId;
    const hit = (await restic.snapshots({ tags: filter.tags })).find((s) => s.id.startsWith(id));
    if (!hit) throw new Error(`snapshot ${id} is not one of ${source.path}'s snapshots (restic-agent snapshots lists them)`);
    return hit;
  }
  const byTime = (await restic.snapshots({ host: hostname, tags: filter.tags })).sort((a, b) => b.time.localeCompare(a.time));
  const items = (s: SnapshotRecord): string[] => s.tags.filter((t) => ITEM_TAG_PREFIXES.some((p) => t.startsWith(p)));
  const wanted = r.item === null ? null : ITEM_TAG_PREFIXES.map((p) => `${p}${dbToken(r.item ?? '')}`);
  const snaps = wanted ? byTime.filter((s) => items(s).some((t) => wanted.includes(t))) : byTime;
  if (!wanted) {
    // Several databases or volumes: say which, rather than guess.
    const all = new Set(snaps.flatMap(items));
    if (all.size > 1)
      throw new Error(
        `${source.path} has snapshots of ${[...all].map((t) => decodeURIComponent(t.slice(t.indexOf(':') + 1))).join(', ')}: choose one with --db NAME (or --volume NAME)`,
      );
    const newestItem = snaps.find((s) => items(s).length > 0);
    if (newestItem) return newestItem;
  }
  const newest = snaps[0];
  if (!newest)
    throw new Error(`${source.path} has no snapshots${r.item ? ` of ${r.item}` : ''} from host ${hostname} yet (give --snapshot ID for another host's)`);
  return newest;
}
