import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { RunRecord } from '../../../shared/model/run.js';
import type { SourceConfig } from '../config/types.js';
import { redact } from '../log/redact.js';
import { dbTag } from '../plugins/base-schema.js';
import { withPluginContext } from '../plugins/context.js';
import { sourcePlugin } from '../plugins/registry.js';
import { runPluginCommand } from '../plugins/run.js';
import { snapshotFilter } from '../plugins/source-id.js';
import type { RestoreTarget } from '../plugins/types.js';
import { dumpEnv } from '../restic/env.js';
import type { Restic, SnapshotRecord } from '../restic/restic.js';
import { notRun } from './plugin-backup.js';
import { trackRun, type TrackerDeps } from './run-tracker.js';

/** `restic-agent restore <source> [--snapshot ID] [--db NAME] --to-database NAME | --to-volume NAME | --to FILE`. */
export interface PluginRestore {
  readonly snapshotId: string | null;
  /** Which database of a source that dumps several (its `db:<name>` tag). */
  readonly db: string | null;
  readonly target: RestoreTarget;
}

/**
 * Restores one stream of a plugin source: `restic dump` of the chosen snapshot piped into the plugin's restore
 * command (`createdb` then `pg_restore`), or into a new file. The run is queued, recorded and cancellable like
 * any other.
 */
export async function restorePluginSource(deps: TrackerDeps, source: SourceConfig, r: PluginRestore): Promise<RunRecord> {
  const plugin = source.plugin;
  if (!plugin) throw new Error(`${source.path} is a folder: restore it with restic restore (or the desktop Snapshots screen)`);
  if (r.target.kind === 'file' && existsSync(r.target.path)) throw new Error(`${r.target.path} exists: a restore never overwrites a file, give a new name`);
  const { record } = await trackRun(
    deps,
    { kind: 'restore', trigger: 'manual', repository: source.repository, source: source.path, policy: null, taskId: null },
    async (restic, ctl) => {
      const snap = await pickSnapshot(restic, source, r, deps.config.agent.hostname);
      const path = snap.paths[0] ?? '';
      if (r.target.kind === 'file') {
        const done = await restic.dump({ snapshotId: snap.id, path, to: { file: r.target.path } }, ctl);
        if (done.outcome !== 'success') await rm(r.target.path, { force: true });
        return done;
      }
      const target = r.target;
      return withPluginContext({ dataDir: deps.config.agent.dataDir, secrets: deps.secrets, signal: ctl.signal }, async (ctx) => {
        const restore = sourcePlugin(plugin.kind).restore;
        if (!restore) return notRun(`a ${plugin.kind} source restores only to a file (--to FILE)`);
        const commands = await restore(plugin.instance, ctx, target, snap);
        const last = commands.at(-1);
        if (!last) return notRun(`the ${plugin.kind} plugin gave no restore command`);
        try {
          for (const c of commands.slice(0, -1)) await runPluginCommand(c, ctx.signal);
        } catch (e) {
          return notRun(redact((e as Error).message));
        }
        return restic.dump({ snapshotId: snap.id, path, to: { command: last.command, env: dumpEnv(last.env) } }, ctl);
      });
    },
  );
  return record;
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
  const tags = r.db ? [...(filter.tags ?? []), dbTag(r.db)] : filter.tags;
  const snaps = (await restic.snapshots({ host: hostname, tags })).sort((a, b) => b.time.localeCompare(a.time));
  if (!r.db) {
    // Several databases: say which, rather than guess.
    const dbs = new Set(snaps.flatMap((s) => s.tags.filter((t) => t.startsWith('db:'))));
    if (dbs.size > 1) throw new Error(`${source.path} has snapshots of ${[...dbs].map((t) => t.slice(3)).join(', ')}: choose one with --db NAME`);
    const newestDb = snaps.find((s) => s.tags.some((t) => t.startsWith('db:')));
    if (newestDb) return newestDb;
  }
  const newest = snaps[0];
  if (!newest)
    throw new Error(`${source.path} has no snapshots${r.db ? ` of database ${r.db}` : ''} from host ${hostname} yet (give --snapshot ID for another host's)`);
  return newest;
}
