import type { Retention } from '../config/types.js';
import type { StreamSource } from './runner.js';
import { capabilities, type ResticVersion } from './version.js';

/** Options shared by every command (placed after the subcommand; restic accepts global flags anywhere). */
export interface GlobalOpts {
  readonly json?: boolean;
  /** False → `--no-cache` (no cache directory configured). */
  readonly useCache: boolean;
  /** Passed as `--retry-lock` on ≥0.16; ignored on older versions (the facade retries itself). */
  readonly retryLockMs?: number;
  readonly limitUploadKiBs?: number;
  readonly limitDownloadKiBs?: number;
  readonly noLock?: boolean;
}

/** Formats milliseconds as a Go duration in whole seconds (`--retry-lock 30s`). */
export function goDuration(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

function positiveInt(n: number | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

/** Global flags for one command, gated on the restic version. */
export function globalArgs(v: ResticVersion, o: GlobalOpts): string[] {
  const a: string[] = [];
  if (o.json !== false) a.push('--json');
  if (!o.useCache) a.push('--no-cache');
  if (o.noLock) a.push('--no-lock');
  if (positiveInt(o.retryLockMs) && capabilities(v).retryLock) a.push('--retry-lock', goDuration(o.retryLockMs));
  if (positiveInt(o.limitUploadKiBs)) a.push('--limit-upload', String(Math.floor(o.limitUploadKiBs)));
  if (positiveInt(o.limitDownloadKiBs)) a.push('--limit-download', String(Math.floor(o.limitDownloadKiBs)));
  return a;
}

/** `backup` argv (without globals). Paths come after `--` so a path starting with `-` is not a flag. */
export function backupArgs(
  v: ResticVersion,
  o: {
    paths: readonly string[];
    exclude: readonly string[];
    tags: readonly string[];
    host: string;
    readConcurrency?: number;
    dryRun?: boolean;
    stdin?: StdinSource;
  },
): string[] {
  if (o.stdin) return stdinBackupArgs(v, { ...o, stdin: o.stdin });
  if (o.paths.length === 0) throw new Error('backup: paths is empty — give at least one source path');
  const a = ['backup', '--host', o.host];
  for (const t of o.tags) a.push('--tag', t);
  for (const e of o.exclude) a.push('--exclude', e);
  if (positiveInt(o.readConcurrency) && capabilities(v).readConcurrency) a.push('--read-concurrency', String(Math.floor(o.readConcurrency)));
  if (o.dryRun) a.push('--dry-run');
  a.push('--', ...o.paths);
  return a;
}

/** A backup of one stream: `command`'s stdout, or a stream the agent reads, stored in the snapshot as `/<filename>`. */
export type StdinSource = CommandStdin | (StreamSource & { readonly filename: string });

/** A command's stdout as a backup's stdin. */
export interface CommandStdin {
  readonly command: readonly string[];
  readonly filename: string;
  /**
   * The command's whole environment (see `dumpEnv`): never restic's, so neither the repository password nor the
   * backend's keys reach it. It may appear in argv (`env -i K=V …`), so it holds paths, never secrets.
   */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * `backup --stdin-from-command -- cmd…` (restic ≥ 0.17 runs the command and saves no snapshot when it fails), or
 * `backup --stdin` for older restic, whose stdin the runner then feeds from the command (see `RunSpec.stdinFrom`).
 */
function stdinBackupArgs(v: ResticVersion, o: { tags: readonly string[]; host: string; dryRun?: boolean; stdin: StdinSource }): string[] {
  const { stdin } = o;
  if ('command' in stdin && stdin.command.length === 0) throw new Error('backup: the stdin command is empty');
  const a = ['backup', '--host', o.host, '--stdin-filename', stdin.filename];
  for (const t of o.tags) a.push('--tag', t);
  if (o.dryRun) a.push('--dry-run');
  if ('command' in stdin && capabilities(v).stdinFromCommand) a.push('--stdin-from-command', '--', ...withOwnEnv(stdin));
  else a.push('--stdin');
  return a;
}

/** restic hands its whole environment to a `--stdin-from-command` child: `env -i` replaces it with the dump's own. */
function withOwnEnv(s: CommandStdin): string[] {
  if (process.platform === 'win32') return [...s.command];
  return ['env', '-i', ...Object.entries(s.env).map(([k, v]) => `${k}=${v}`), ...s.command];
}

/** Snapshot filter flags shared by `snapshots` and `forget` (long flags: `-H` means keep-hourly in forget). */
export function filterArgs(f: { host?: string; tags?: readonly string[]; paths?: readonly string[] }): string[] {
  const a: string[] = [];
  if (f.host) a.push('--host', f.host);
  // One --tag per tag would OR them; a single comma-joined flag ANDs them, matching "has all these tags".
  if (f.tags && f.tags.length > 0) a.push('--tag', f.tags.join(','));
  for (const p of f.paths ?? []) a.push('--path', p);
  return a;
}

/** The `--keep-*` flags of a retention policy; throws when the policy keeps nothing explicit. */
export function retentionArgs(r: Retention): string[] {
  const a: string[] = [];
  const n = (flag: string, x: number | undefined) => {
    if (x === undefined) return;
    if (!Number.isInteger(x) || x < 0) throw new Error(`retention: ${flag} must be a whole number ≥ 0, got ${String(x)}`);
    if (x > 0) a.push(flag, String(x));
  };
  n('--keep-last', r.keepLast);
  n('--keep-hourly', r.keepHourly);
  n('--keep-daily', r.keepDaily);
  n('--keep-weekly', r.keepWeekly);
  n('--keep-monthly', r.keepMonthly);
  n('--keep-yearly', r.keepYearly);
  if (r.keepWithin) {
    if (!/^(\d+[ymdh])+$/.test(r.keepWithin)) throw new Error(`retention: keepWithin must look like 30d or 1y2m, got "${r.keepWithin}"`);
    a.push('--keep-within', r.keepWithin);
  }
  // restic ≤0.16 would silently do nothing and 0.17+ fails: refuse before running.
  if (a.length === 0) throw new Error('retention: no keep rule is set — give at least one of keepLast/keepDaily/…/keepWithin');
  return a;
}

/** `prune` argv. */
export function pruneArgs(o: { maxUnused?: string | null; maxRepackSize?: string | null }): string[] {
  return ['prune', ...(o.maxUnused ? ['--max-unused', o.maxUnused] : []), ...(o.maxRepackSize ? ['--max-repack-size', o.maxRepackSize] : [])];
}

/** `forget` argv (policy + filters, `--prune` optional). */
export function forgetArgs(o: { retention: Retention; prune: boolean; host?: string; tags?: readonly string[]; paths?: readonly string[] }): string[] {
  return ['forget', ...retentionArgs(o.retention), ...filterArgs(o), ...(o.prune ? ['--prune'] : [])];
}

/** `check` argv. */
export function checkArgs(o: { readDataSubset: string | null }): string[] {
  if (o.readDataSubset === null) return ['check'];
  if (!/^(\d+\/\d+|\d+(\.\d+)?%|\d+[KMGT]?)$/i.test(o.readDataSubset)) {
    throw new Error(`check: readDataSubset must be n/t, x% or a size, got "${o.readDataSubset}"`);
  }
  return ['check', `--read-data-subset=${o.readDataSubset}`];
}

/** `dump <snapshot> <path>`: one file of a snapshot on stdout. */
export function dumpArgs(o: { snapshotId: string; path: string }): string[] {
  if (!/^[0-9a-f]{8,64}$/.test(o.snapshotId)) throw new Error(`dump: snapshotId must be hex (8–64 chars), got "${o.snapshotId}"`);
  if (!o.path.startsWith('/')) throw new Error(`dump: the path must be absolute inside the snapshot, got "${o.path}"`);
  return ['dump', o.snapshotId, o.path];
}

/** `restore` argv. */
export function restoreArgs(o: { snapshotId: string; include: string | null; target: string }): string[] {
  if (!/^[0-9a-f]{8,64}$|^latest$/.test(o.snapshotId)) throw new Error(`restore: snapshotId must be hex (8–64 chars) or "latest", got "${o.snapshotId}"`);
  if (!o.target) throw new Error('restore: target is empty — give a directory to restore into');
  const a = ['restore', o.snapshotId, '--target', o.target];
  if (o.include) a.push('--include', o.include);
  return a;
}
