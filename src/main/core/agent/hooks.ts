import { succeeded } from '../../../shared/model/run.js';
import type { HookCommand, HookLayer, SourceConfig } from '../config/types.js';
import { redact } from '../log/redact.js';
import { runPluginCommand } from '../plugins/run.js';
import type { BackupResult, RunControl } from '../restic/restic.js';
import { notRun } from './plugin-backup.js';

/** argv for a hook: a list as it is, a command line through the platform's shell. */
function argv(h: HookCommand): ReadonlyArray<string> {
  if (typeof h !== 'string') return h;
  return process.platform === 'win32' ? ['cmd.exe', '/d', '/s', '/c', h] : ['/bin/sh', '-c', h];
}

const shown = (h: HookCommand): string => redact(typeof h === 'string' ? h : h.join(' '));

/**
 * Runs a source's backup inside its hook layers (global outermost). The first `before` that fails skips the
 * backup (the run fails, naming it). Each layer's `after` runs when its own `before` succeeded, whatever the
 * backup did, cancelled included, since it undoes what `before` did (thaw, remove an LVM snapshot); `on_failure`
 * runs when the run did not succeed. A failed `after` fails the run: the snapshot may be fine, the system is not.
 * Hooks see RESTIC_AGENT_SOURCE, and after the backup RESTIC_AGENT_OUTCOME, _SNAPSHOT and _MESSAGE.
 */
export async function withHooks(source: SourceConfig, ctl: RunControl, backup: () => Promise<BackupResult>): Promise<BackupResult> {
  const { layers, timeoutMs } = source.hooks;
  if (layers.length === 0) return backup();
  const log = (line: string, level: 'info' | 'warn' = 'info') => ctl.onEvent?.({ type: 'log', stream: 'stderr', level, line });
  const base = { RESTIC_AGENT_SOURCE: source.path, RESTIC_AGENT_REPOSITORY: source.repository };
  const run = async (stage: string, h: HookCommand | undefined, env: Record<string, string>, signal: AbortSignal): Promise<string[]> => {
    if (h === undefined) return [];
    log(`hook ${stage}: ${shown(h)}`);
    try {
      await runPluginCommand({ command: argv(h), env }, signal, timeoutMs);
      return [];
    } catch (e) {
      const why = `${stage} hook failed: ${redact((e as Error).message)}`;
      log(why, 'warn');
      return [why];
    }
  };

  const entered: HookLayer[] = [];
  let result: BackupResult | null = null;
  for (const layer of layers) {
    const [failed] = await run('before', layer.before, base, ctl.signal ?? new AbortController().signal);
    if (failed) {
      result = notRun(`${failed} (the backup did not run)`);
      break;
    }
    entered.push(layer);
  }
  if (!result) {
    try {
      result = await backup();
    } catch (e) {
      await leave(notRun(redact((e as Error).message)));
      throw e;
    }
  }
  return leave(result);

  // Innermost first. Hooks that undo or report run even after a cancel: they get a signal of their own.
  async function leave(r: BackupResult): Promise<BackupResult> {
    const own = new AbortController().signal;
    const env = (outcome: string) => ({ ...base, RESTIC_AGENT_OUTCOME: outcome, RESTIC_AGENT_SNAPSHOT: r.snapshotId ?? '', RESTIC_AGENT_MESSAGE: r.message });
    const problems: string[] = [];
    for (const layer of [...entered].reverse()) problems.push(...(await run('after', layer.after, env(r.outcome), own)));
    const outcome = problems.length && succeeded(r.outcome) ? 'failed' : r.outcome;
    if (!succeeded(outcome)) for (const layer of [...layers].reverse()) problems.push(...(await run('on_failure', layer.onFailure, env(outcome), own)));
    return problems.length ? { ...r, outcome, message: [r.message, ...problems].join('; ') } : r;
  }
}
