import { succeeded, type BackupStats } from '../../../shared/model/run.js';
import type { SourceConfig } from '../config/types.js';
import { redact } from '../log/redact.js';
import { withPluginContext } from '../plugins/context.js';
import { sourcePlugin } from '../plugins/registry.js';
import { streamLabel, type CommandStream, type PluginStream, type ReaderStream } from '../plugins/types.js';
import type { StdinSource } from '../restic/args.js';
import { dumpEnv } from '../restic/env.js';
import type { BackupResult, Restic, RunControl } from '../restic/restic.js';
import type { TrackerDeps } from './run-tracker.js';

/** What every stream's `restic backup` shares (tags, limits). */
export type CommonBackup = Omit<Parameters<Restic['backup']>[0], 'paths' | 'exclude' | 'stdin'>;

/**
 * One backup of a plugin source: the plugin lists its streams (one per database, say), and each is streamed into
 * its own snapshot. A failed dump does not stop the next database's; a repository problem or a cancel does.
 * The result is the whole source's: success only when every stream succeeded.
 */
export async function backupPluginSource(
  deps: Pick<TrackerDeps, 'config' | 'secrets'>,
  source: SourceConfig,
  restic: Restic,
  ctl: RunControl,
  common: CommonBackup,
): Promise<BackupResult> {
  const plugin = source.plugin;
  if (!plugin) throw new Error(`${source.path} is not a plugin source`);
  const started = Date.now();
  return withPluginContext({ kind: plugin.kind, dataDir: deps.config.agent.dataDir, secrets: deps.secrets, signal: ctl.signal }, async (ctx) => {
    let streams: ReadonlyArray<PluginStream>;
    try {
      streams = await sourcePlugin(plugin.kind).streams(plugin.instance, ctx);
    } catch (e) {
      return notRun(`${source.path}: ${redact((e as Error).message)}`, Date.now() - started);
    }
    if (streams.length === 0) return notRun(`${source.path}: nothing to back up (no databases matched)`, Date.now() - started);
    const done: Array<{ stream: PluginStream; result: BackupResult }> = [];
    for (const stream of streams) {
      const result = await backupStream(stream, restic, ctl, common);
      done.push({ stream, result });
      if (!succeeded(result.outcome) && result.outcome !== 'failed') break;
    }
    return combine(done, Date.now() - started);
  });
}

/** One stream's snapshot, between its `prepare` and what undoes it (stop, then start containers). */
async function backupStream(stream: PluginStream, restic: Restic, ctl: RunControl, common: CommonBackup): Promise<BackupResult> {
  let undo: () => Promise<void> = async () => {};
  try {
    if (stream.prepare) undo = await stream.prepare();
  } catch (e) {
    return notRun(`${streamLabel(stream)}: ${redact((e as Error).message)}`);
  }
  const tags = [...common.tags, ...stream.tags];
  const result = await restic
    .backup(
      'paths' in stream ? { ...common, tags, paths: [...stream.paths], exclude: [] } : { ...common, tags, paths: [], exclude: [], stdin: stdinOf(stream) },
      ctl,
    )
    .catch(async (e: unknown) => {
      await undo().catch(() => {});
      throw e;
    });
  try {
    await undo();
  } catch (e) {
    // The snapshot may be good, but what the backup changed is not undone: the run must not look fine.
    return { ...result, outcome: 'failed', message: `${result.message}; ${streamLabel(stream)}: ${redact((e as Error).message)}` };
  }
  return result;
}

/** What restic's stdin reads for a stream that is not paths: a command's stdout (in the dump environment), or a stream. */
function stdinOf(stream: CommandStream | ReaderStream): StdinSource {
  return 'open' in stream ? { filename: stream.filename, open: stream.open } : { command: stream.command, filename: stream.filename, env: dumpEnv(stream.env) };
}

/** A failure before restic ran (the server could not be asked for its databases, `createdb` failed). */
export function notRun(message: string, durationMs = 0): BackupResult {
  return { outcome: 'failed', exitCode: null, signal: null, message, durationMs, stderrTail: message, snapshotId: null, stats: null, fileErrors: [] };
}

/** The source's result from its streams': the first stream that did not succeed decides the outcome. */
function combine(done: ReadonlyArray<{ stream: PluginStream; result: BackupResult }>, durationMs: number): BackupResult {
  const only = done.length === 1 ? done[0] : undefined;
  if (only) return only.result;
  const bad = done.find((d) => !succeeded(d.result.outcome));
  const last = [...done].reverse().find((d) => d.result.snapshotId);
  const parts = done.map(({ stream, result }) =>
    succeeded(result.outcome)
      ? `${streamLabel(stream)} ${result.snapshotId?.slice(0, 8) ?? 'ok'}`
      : `${streamLabel(stream)} ${result.outcome}: ${result.message}`,
  );
  return {
    outcome: bad?.result.outcome ?? (done.some((d) => d.result.outcome === 'partial') ? 'partial' : 'success'),
    exitCode: bad?.result.exitCode ?? 0,
    signal: bad?.result.signal ?? null,
    message: `${done.length} snapshots: ${parts.join('; ')}`,
    durationMs,
    stderrTail: bad?.result.stderrTail ?? '',
    snapshotId: last?.result.snapshotId ?? null,
    stats: sumStats(done.map((d) => d.result.stats)),
    fileErrors: done.flatMap((d) => d.result.fileErrors),
  };
}

function sumStats(all: ReadonlyArray<BackupStats | null>): BackupStats | null {
  const present = all.filter((s): s is BackupStats => s !== null);
  if (present.length === 0) return null;
  const sum = (k: Exclude<keyof BackupStats, 'dataAddedPacked'>): number => present.reduce((n, s) => n + s[k], 0);
  return {
    filesNew: sum('filesNew'),
    filesChanged: sum('filesChanged'),
    filesUnmodified: sum('filesUnmodified'),
    dirsNew: sum('dirsNew'),
    dirsChanged: sum('dirsChanged'),
    dirsUnmodified: sum('dirsUnmodified'),
    dataAdded: sum('dataAdded'),
    dataAddedPacked: present.every((s) => s.dataAddedPacked !== null) ? present.reduce((n, s) => n + (s.dataAddedPacked ?? 0), 0) : null,
    totalFilesProcessed: sum('totalFilesProcessed'),
    totalBytesProcessed: sum('totalBytesProcessed'),
    totalDurationSeconds: sum('totalDurationSeconds'),
  };
}
