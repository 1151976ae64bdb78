import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupStats, FileError, Progress, RunOutcome } from '../../../shared/model/run.js';
import type { LogLevel } from '../../../shared/model/log.js';
import type { RepoAccess, Retention } from '../config/types.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { redact } from '../log/redact.js';
import { backupArgs, checkArgs, dumpArgs, filterArgs, forgetArgs, globalArgs, pruneArgs, restoreArgs, type StdinSource } from './args.js';
import type { BackupSummary, JsonEvent } from './backup-parser.js';
import { buildEnv } from './env.js';
import { classify, type Classified } from './outcome.js';
import { runProcess, type RawRun, type RunSpec } from './runner.js';
import { sleep } from '../time/timers.js';
import { parseSingleDoc } from './single-doc.js';
import { parseSnapshots, parseForget, parseStats, type SnapshotRecord } from './docs.js';
import { capabilities, type ResticCapabilities, type ResticVersion } from './version.js';

export type { ResticVersion } from './version.js';
export { detectResticVersion, capabilities, versionNumber } from './version.js';
export type { SnapshotRecord } from './docs.js';

/** How a caller controls one run. */
export interface RunControl {
  signal?: AbortSignal;
  timeoutMs?: number;
  stallTimeoutMs?: number;
  cancelGraceMs?: number;
  onEvent?: (e: ResticEvent) => void;
  lowPriority?: boolean;
  /** restic's pid, once it runs (with a low-priority wrapper, nice/ionice exec into restic: same pid). */
  onSpawn?: (pid: number) => void;
}

/** Live events of a run. `log` carries every non-JSON line, redacted. */
export type ResticEvent =
  | { type: 'progress'; progress: Progress }
  | { type: 'file-error'; error: FileError }
  | { type: 'log'; stream: 'stdout' | 'stderr'; level: LogLevel; line: string };

/** The result of any restic command. */
export interface ResticResult {
  outcome: RunOutcome;
  exitCode: number | null;
  signal: string | null;
  message: string;
  durationMs: number;
  stderrTail: string;
}

/** The result of `backup`. */
export interface BackupResult extends ResticResult {
  /** Full 64-hex id (0.14's short id is resolved through `snapshots --json`); null on dry runs and failures. */
  snapshotId: string | null;
  stats: BackupStats | null;
  fileErrors: FileError[];
}

/** Thrown by query methods (`snapshots`) that have no result object to carry a failure. */
export class ResticError extends Error {
  constructor(readonly result: ResticResult) {
    super(result.message);
    this.name = 'ResticError';
  }
}

interface ExecOpts {
  readonly json?: boolean;
  readonly collectStdout?: boolean;
  readonly noLock?: boolean;
  /** Honour the repository lock wait (`--retry-lock` or our own retry loop). */
  readonly waitForLock?: boolean;
  readonly limitUploadKiBs?: number;
  readonly limitDownloadKiBs?: number;
  readonly onJson?: (ev: JsonEvent) => void;
  /** Skip `restic unlock` after an agent-initiated stop (used by unlock itself). */
  readonly noUnlockAfterStop?: boolean;
  readonly stdinFrom?: RunSpec['stdinFrom'];
  readonly stdoutTo?: RunSpec['stdoutTo'];
  /** More text the classifier reads besides stderr (item errors collected during the run). */
  readonly classifyAlso?: () => string;
}

interface Exec {
  readonly raw: RawRun;
  readonly classified: Classified;
  readonly result: ResticResult;
}

/** Files over this many errors are counted but not kept (memory stays flat on huge unreadable trees). */
const MAX_FILE_ERRORS = 1000;

/** Options of the Restic facade. */
export interface ResticOptions {
  binary: string;
  version: ResticVersion;
  repo: RepoAccess;
  host: string;
  cacheDir: string | null;
  retryLockMs: number;
  logger?: Logger;
}

/** The directory of a local repository (`/srv/repo`, `local:/srv/repo`, `D:\\repo`), else null (a backend URL). */
export function localRepoDir(url: string): string | null {
  if (url.startsWith('local:')) return url.slice('local:'.length);
  // A backend scheme has two letters or more (`s3:`, `sftp:`, `rclone:`); `C:\` is a Windows path.
  return /^[a-z][a-z0-9+.-]+:/i.test(url) ? null : url;
}

/** The agent's restic executor: one instance per repository. */
export class Restic {
  readonly caps: ResticCapabilities;
  readonly #log: Logger;
  readonly #env: Record<string, string>;

  constructor(private readonly opts: ResticOptions) {
    this.caps = capabilities(opts.version);
    this.#log = opts.logger ?? silentLogger;
    this.#env = buildEnv({ repo: opts.repo, cacheDir: opts.cacheDir });
  }

  /** Runs `backup --json` and returns the outcome, the snapshot id, the summary and per-file errors. */
  async backup(
    o: {
      paths: string[];
      exclude: string[];
      tags: string[];
      limitUploadKiBs?: number;
      limitDownloadKiBs?: number;
      readConcurrency?: number;
      dryRun?: boolean;
      /** Back up a command's output instead of paths (a database dump, `slapcat`, …). */
      stdin?: StdinSource;
    },
    ctl: RunControl = {},
  ): Promise<BackupResult> {
    let summary: BackupSummary | null = null;
    const fileErrors: FileError[] = [];
    let errorCount = 0;
    const args = backupArgs(this.opts.version, { ...o, host: this.opts.host });
    // Older restic (and any stream the agent reads itself) gets the data from us: the runner feeds restic's stdin,
    // ending it only on success.
    const stdinFrom = !o.stdin
      ? undefined
      : 'open' in o.stdin
        ? { open: o.stdin.open }
        : this.caps.stdinFromCommand
          ? undefined
          : { command: o.stdin.command, env: o.stdin.env };
    const ex = await this.#exec(args, ctl, {
      waitForLock: true,
      stdinFrom,
      // restic ≥ 0.17 may report a dump that failed before writing anything only as an item error, then exit 130
      // as if interrupted: the classifier must read it to call the run a failed dump.
      classifyAlso: o.stdin ? () => fileErrors.map((e) => e.message).join('\n') : undefined,
      limitUploadKiBs: o.limitUploadKiBs,
      limitDownloadKiBs: o.limitDownloadKiBs,
      onJson: (ev) => {
        if (ev.kind === 'summary') summary = ev.summary;
        else if (ev.kind === 'file-error') {
          const error = { item: redact(ev.error.item), during: ev.error.during, message: redact(ev.error.message) };
          // `scan` errors are informational; the same item normally also gets an `archival` error.
          if (error.during !== 'scan') {
            errorCount++;
            if (fileErrors.length < MAX_FILE_ERRORS) fileErrors.push(error);
          }
          ctl.onEvent?.({ type: 'file-error', error });
        }
      },
    });
    const s = summary as BackupSummary | null;
    let snapshotId = s && !s.dryRun ? s.snapshotId : null;
    if (snapshotId && !/^[0-9a-f]{64}$/.test(snapshotId)) snapshotId = await this.#resolveId(snapshotId);
    let message = ex.result.message;
    if (ex.result.outcome === 'partial') {
      message =
        errorCount > 0
          ? `Snapshot saved, but ${errorCount} item(s) could not be read (restic exit 3)`
          : `Snapshot saved with warnings (restic exit 3)${ex.raw.stderr ? `: ${warningLine(ex.raw.stderr)}` : ''}`;
    } else if (ex.result.outcome === 'success' && s?.dryRun) message = 'Dry run completed (nothing was written)';
    return { ...ex.result, message, snapshotId, stats: s ? s.stats : null, fileErrors };
  }

  /** Runs `check` (optionally `--read-data-subset`). */
  async check(o: { readDataSubset: string | null }, ctl: RunControl = {}): Promise<ResticResult> {
    let numErrors = 0;
    const ex = await this.#exec(checkArgs(o), ctl, {
      json: this.caps.checkJson,
      waitForLock: true,
      onJson: (ev) => {
        if (ev.kind === 'check-summary') numErrors = ev.numErrors;
        if (ev.kind === 'message') ctl.onEvent?.({ type: 'log', stream: 'stderr', level: 'error', line: redact(ev.message) });
      },
    });
    if (ex.result.outcome === 'failed' && /repository contains errors/.test(ex.raw.stderr + (ex.raw.exitError?.message ?? ''))) {
      return { ...ex.result, message: `Repository check found ${numErrors || 'some'} error(s) (restic exit ${String(ex.raw.code)})` };
    }
    return ex.result;
  }

  /** Runs `forget` with a retention policy (filters default to this agent's host). */
  async forget(
    o: { retention: Retention; prune: boolean; host?: string; tags?: string[]; paths?: string[] },
    ctl: RunControl = {},
  ): Promise<ResticResult & { removed: number; kept: number }> {
    const args = forgetArgs({ ...o, host: o.host ?? this.opts.host });
    const ex = await this.#exec(args, ctl, { collectStdout: true, waitForLock: true });
    const parsed = parseSingleDoc(ex.raw.stdout);
    for (const l of parsed.extra) this.#text(l, 'stdout', ctl);
    const { removed, kept } = parseForget(parsed.doc);
    const message = ex.result.outcome === 'success' ? `Removed ${removed} snapshot(s), kept ${kept}${o.prune ? ', pruned' : ''}` : ex.result.message;
    return { ...ex.result, message, removed, kept };
  }

  /** Runs `prune` (with `--max-unused` / `--max-repack-size` when given; restic ≥ 0.12 has both). */
  async prune(o: { maxUnused?: string | null; maxRepackSize?: string | null } = {}, ctl: RunControl = {}): Promise<ResticResult> {
    return (await this.#exec(pruneArgs(o), ctl, { waitForLock: true })).result;
  }

  /** Runs `init` (creates the repository). */
  async init(ctl: RunControl = {}): Promise<ResticResult> {
    const ex = await this.#exec(['init'], ctl, { json: this.caps.initJson, collectStdout: true });
    if (ex.result.outcome === 'success') return { ...ex.result, message: 'Repository created' };
    return ex.result;
  }

  /** Lists snapshots (optionally filtered); throws ResticError when restic fails. */
  async snapshots(
    filter: { host?: string; tags?: string[]; paths?: string[]; latest?: number; ids?: string[] } = {},
    ctl: RunControl = {},
  ): Promise<SnapshotRecord[]> {
    const args = ['snapshots', ...filterArgs(filter), ...(filter.latest ? ['--latest', String(filter.latest)] : []), ...(filter.ids ?? [])];
    const ex = await this.#exec(args, ctl, { collectStdout: true, waitForLock: true });
    if (ex.result.outcome !== 'success') throw new ResticError(ex.result);
    const parsed = parseSingleDoc(ex.raw.stdout);
    for (const l of parsed.extra) this.#text(l, 'stdout', ctl);
    return parseSnapshots(parsed.doc);
  }

  /** Restores a snapshot (or the paths matching `include`) into `target`. */
  async restore(o: { snapshotId: string; include: string | null; target: string }, ctl: RunControl = {}): Promise<ResticResult> {
    const ex = await this.#exec(restoreArgs(o), ctl, {
      json: this.caps.restoreJson,
      waitForLock: true,
      onJson: (ev) => {
        if (ev.kind === 'file-error')
          ctl.onEvent?.({ type: 'file-error', error: { ...ev.error, item: redact(ev.error.item), message: redact(ev.error.message) } });
      },
    });
    return ex.result;
  }

  /** Streams one file of a snapshot (`restic dump`) into a command's stdin (`pg_restore`) or a new file. */
  async dump(o: { snapshotId: string; path: string; to: NonNullable<RunSpec['stdoutTo']> }, ctl: RunControl = {}): Promise<ResticResult> {
    const ex = await this.#exec(dumpArgs(o), ctl, { waitForLock: true, stdoutTo: o.to });
    return ex.result;
  }

  /** Removes stale locks (or all locks with `removeAll`: only when nothing else uses the repository). */
  async unlock(o: { removeAll?: boolean } = {}): Promise<ResticResult> {
    const ex = await this.#exec(
      ['unlock', ...(o.removeAll ? ['--remove-all'] : [])],
      { timeoutMs: 120_000, cancelGraceMs: 10_000 },
      { noUnlockAfterStop: true },
    );
    return ex.result;
  }

  /** IDs of the locks currently in the repository (`restic list locks`). */
  async listLocks(ctl: RunControl = {}): Promise<string[]> {
    const ex = await this.#exec(['list', 'locks'], ctl, { json: false, collectStdout: true, noUnlockAfterStop: true });
    if (ex.result.outcome !== 'success') throw new ResticError(ex.result);
    return ex.raw.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[0-9a-f]{64}$/.test(l));
  }

  /** Repository size (`stats --mode raw-data`); null when it cannot be read. */
  async stats(ctl: RunControl = {}): Promise<{ totalSize: number; snapshotsCount: number } | null> {
    const ex = await this.#exec(['stats', '--mode', 'raw-data'], ctl, { collectStdout: true, noLock: true });
    if (ex.result.outcome !== 'success') return null;
    return parseStats(parseSingleDoc(ex.raw.stdout).doc);
  }

  /** Opens the repo (cat config): exists / missing / wrong-password / unreachable, with a message. */
  async probe(ctl: RunControl = {}): Promise<{ state: 'exists' | 'missing' | 'wrong-password' | 'unreachable'; message: string }> {
    const ex = await this.#exec(['cat', 'config'], { timeoutMs: 60_000, ...ctl }, { collectStdout: true, noLock: true });
    const o = ex.result.outcome;
    if (o === 'success' && parseSingleDoc(ex.raw.stdout).doc !== null) return { state: 'exists', message: 'Repository is reachable' };
    if (o === 'no-repo') return { state: 'missing', message: ex.result.message };
    if (o === 'wrong-password') return { state: 'wrong-password', message: ex.result.message };
    return { state: 'unreachable', message: ex.result.message };
  }

  /**
   * Looks up the full id of a short snapshot id (0.14 backup summaries). In a local repository it is the name of a
   * file in `snapshots/`; elsewhere restic is asked for that one snapshot (a second repository open, about 0.7 s of
   * key derivation). Falls back to the short id.
   */
  async #resolveId(shortId: string): Promise<string> {
    const local = localRepoDir(this.opts.repo.url);
    if (local) {
      const hits = (await readdir(join(local, 'snapshots')).catch(() => [])).filter((n) => n.startsWith(shortId) && /^[0-9a-f]{64}$/.test(n));
      if (hits.length === 1 && hits[0]) return hits[0];
    }
    try {
      const all = await this.snapshots({ ids: [shortId] });
      const hit = all.find((s) => s.id.startsWith(shortId));
      if (hit) return hit.id;
    } catch (e) {
      this.#log.warn(`could not resolve snapshot id ${shortId}: ${(e as Error).message}`);
    }
    return shortId;
  }

  #text(line: string, stream: 'stdout' | 'stderr', ctl: RunControl): void {
    const level: LogLevel = stream === 'stdout' ? 'info' : /^(Fatal|error|panic)/i.test(line) ? 'error' : 'warn';
    const l = redact(line);
    ctl.onEvent?.({ type: 'log', stream, level, line: l });
    this.#log.debug(`restic ${stream}: ${l}`);
  }

  /** Runs one command, with the lock wait (own retry loop before 0.16) and an unlock after an agent stop. */
  async #exec(cmd: string[], ctl: RunControl, o: ExecOpts): Promise<Exec> {
    const retryMs = o.waitForLock ? this.opts.retryLockMs : 0;
    const args = [
      ...globalArgs(this.opts.version, {
        json: o.json ?? true,
        useCache: this.opts.cacheDir !== null,
        noLock: o.noLock,
        retryLockMs: retryMs,
        limitUploadKiBs: o.limitUploadKiBs,
        limitDownloadKiBs: o.limitDownloadKiBs,
      }),
      ...cmd,
    ];
    const started = Date.now();
    this.#log.info(redact(`restic ${args.join(' ')}`));
    let delay = 1000;
    for (;;) {
      const raw = await runProcess({
        binary: this.opts.binary,
        args,
        env: this.#env,
        collectStdout: o.collectStdout,
        stdinFrom: o.stdinFrom,
        stdoutTo: o.stdoutTo,
        lowPriority: ctl.lowPriority,
        signal: ctl.signal,
        timeoutMs: ctl.timeoutMs,
        stallTimeoutMs: ctl.stallTimeoutMs,
        cancelGraceMs: ctl.cancelGraceMs,
        onSpawn: ctl.onSpawn,
        onText: (line, stream) => this.#text(line, stream, ctl),
        onJson: (ev) => {
          if (ev.kind === 'progress') ctl.onEvent?.({ type: 'progress', progress: ev.progress });
          o.onJson?.(ev);
        },
      });
      let classified = classify(o.classifyAlso ? { ...raw, stderr: `${raw.stderr}\n${o.classifyAlso()}` } : raw);
      const elapsed = Date.now() - started;
      // restic < 0.16 has no --retry-lock: wait and retry ourselves until the budget is spent.
      if (classified.outcome === 'locked' && retryMs > 0 && !this.caps.retryLock && elapsed < retryMs && !ctl.signal?.aborted) {
        const wait = Math.min(delay, retryMs - elapsed);
        this.#log.info(`repository is locked, retrying in ${Math.round(wait / 1000)}s`);
        if (await sleep(wait, ctl.signal)) {
          delay = Math.min(delay * 2, 30_000);
          continue;
        }
        classified = { outcome: 'cancelled', message: 'Cancelled while waiting for the repository lock' };
      }
      if (raw.stopReason && (raw.code !== null || raw.signal !== null) && !o.noUnlockAfterStop) {
        // SIGKILL (or an old restic) can leave our lock behind; plain `unlock` removes stale locks only.
        const u = await this.unlock();
        this.#log.info(`after stopping restic: unlock → ${u.outcome}`);
      }
      const result: ResticResult = {
        outcome: classified.outcome,
        exitCode: raw.code,
        signal: raw.signal,
        message: classified.message,
        durationMs: Date.now() - started,
        stderrTail: raw.stderr,
      };
      (result.outcome === 'success' ? this.#log.info : this.#log.warn).call(this.#log, `restic ${cmd[0] ?? ''}: ${result.message}`);
      return { raw, classified, result };
    }
  }
}

/** The most telling warning of an exit-3 run (a skipped source path beats the generic last line). */
function warningLine(text: string): string {
  const lines = text.trim().split('\n');
  const skipped = lines.find((l) => /(does not exist|cannot be accessed), skipping$/.test(l));
  return (skipped ?? lines[lines.length - 1] ?? '').slice(0, 300);
}
