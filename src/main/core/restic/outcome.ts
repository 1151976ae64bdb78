import { sayingWhy } from './lines.js';
import type { RunOutcome } from '../../../shared/model/run.js';

/** Why the agent stopped restic itself (null = it ended on its own). */
export type StopReason = 'cancel' | 'timeout' | 'stall' | 'producer' | 'consumer' | null;

/** Everything the classifier looks at after a run ended. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  /** stderr text (head+tail; exit_error messages included). */
  readonly stderr: string;
  /** `exit_error` from stderr (≥0.18), if any. */
  readonly exitError: { readonly code: number; readonly message: string } | null;
  readonly stopReason: StopReason;
  /** Spawn failure (binary missing, EACCES …). */
  readonly spawnError?: string | null;
  /** The command feeding restic's stdin failed (`exit 2`, `killed by SIGKILL`, `not found`). */
  readonly producerError?: string | null;
  /** The command (or file) restic's stdout went to failed (`pg_restore` exited 2, a disk full). */
  readonly consumerError?: string | null;
}

/** A classified result with a one-line human message. */
export interface Classified {
  readonly outcome: RunOutcome;
  readonly message: string;
}

const PATTERNS: ReadonlyArray<[RegExp, RunOutcome, string]> = [
  [/Is there a repository at the following location\?|repository does not exist|unable to open config file/, 'no-repo', 'Repository not found'],
  [/wrong password or no key found/, 'wrong-password', 'Wrong repository password'],
  [/repository is already locked|unable to create lock in backend/, 'locked', 'Repository is locked by another process'],
  [/an empty password is not (?:a password|allowed)/, 'config-error', 'No repository password was given'],
  [/Resolving password failed/, 'config-error', 'The password command failed'],
  [
    /unknown (?:shorthand )?flag|unknown command|flag needs an argument|invalid argument ".*" for/,
    'config-error',
    'restic rejected the command line (unsupported flag for this restic version?)',
  ],
  [/all (?:target|source) directories\/files do not exist/, 'config-error', 'None of the source paths exist'],
  [/Password file and command are mutually exclusive|Fatal: \S+ does not exist$/m, 'config-error', 'Invalid password configuration'],
  [/cannot be specified at the same time|cannot read both password and data from stdin|no policy was specified/, 'config-error', 'Invalid restic options'],
  [/config file already exists|already initialized/, 'failed', 'Repository already exists'],
  [/failed to refresh lock in time/, 'failed', 'Lost the repository lock (e.g. after suspend)'],
];

/** The first line of stderr that explains the failure (prefers `Fatal:` lines). */
export function keyLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => l.startsWith('Fatal:') || /^unable to|^unknown flag/.test(l));
  return (fatal ?? lines[lines.length - 1] ?? '').slice(0, 400);
}

function detail(stderr: string): string {
  const k = keyLine(stderr);
  return k ? `: ${k}` : '';
}

/**
 * Classifies a finished restic run: exit code first, then stderr patterns, then `exit_error`
 * (docs/spec/restic-cli.md §3). Unknown exit codes are failures.
 */
export function classify(info: ExitInfo): Classified {
  const { code, signal, stderr, stopReason } = info;
  const text = info.exitError ? `${stderr}\n${info.exitError.message}` : stderr;
  const tag = code !== null ? `restic exit ${code}` : signal ? `restic killed by ${signal}` : 'restic did not start';

  if (info.spawnError) return { outcome: 'config-error', message: `Could not start restic: ${info.spawnError}` };
  // Whatever restic did with a stream whose producer failed, it is not a good snapshot.
  if (info.producerError) return { outcome: 'failed', message: `The dump command failed (${info.producerError}); restic was stopped (${tag})` };
  // A restore command that failed while restic was fine: restic was stopped or its output was not taken.
  if (info.consumerError && (stopReason === 'consumer' || code === 0))
    return { outcome: 'failed', message: `The restore command failed (${info.consumerError}) (${tag})` };
  // Only when we did not stop restic ourselves: a cancel also ends the dump command ("signal: killed").
  const dumpFailed = stopReason ? null : /command failed: (?:exit status \d+|signal: \w+)/.exec(text);
  if (dumpFailed) {
    // restic ≥ 0.17 passes the command's stderr on as `subprocess <name>: <line>`: those lines say why.
    const said = sayingWhy([...stderr.matchAll(/^subprocess \S+: (.+)$/gm)].map((m) => m[1] ?? ''));
    return {
      outcome: 'failed',
      message: `The dump command failed (${dumpFailed[0]}${said ? `: ${said}` : ''}); restic saved no snapshot (${tag})`,
    };
  }

  // A run we stopped ourselves counts as stopped, unless it still finished with a result.
  if (stopReason && code !== 0 && code !== 3) {
    if (stopReason === 'timeout') return { outcome: 'timeout', message: `Run timed out and was stopped (${tag})` };
    if (stopReason === 'stall') return { outcome: 'stalled', message: `restic printed nothing for too long and was stopped (${tag})` };
    return { outcome: 'cancelled', message: `Cancelled (${tag})` };
  }
  if (signal) return { outcome: 'killed', message: `restic was killed by ${signal} (a stale lock may be left behind)` };

  switch (code) {
    case 0:
      return { outcome: 'success', message: 'Completed successfully' };
    case 3:
      return { outcome: 'partial', message: `Completed with warnings: some source data could not be read (${tag})` };
    case 10:
      return { outcome: 'no-repo', message: `Repository not found (${tag})` };
    case 11:
      return { outcome: 'locked', message: `Repository is locked by another process (${tag})` };
    case 12:
      return { outcome: 'wrong-password', message: `Wrong repository password (${tag})` };
    case 130:
      // Also "failed to refresh lock in time" on 0.19: not a user interrupt unless we sent the signal.
      if (/failed to refresh lock in time/.test(text)) return { outcome: 'failed', message: `Lost the repository lock (${tag})` };
      return { outcome: 'cancelled', message: `Interrupted (${tag})` };
    case 2:
      return { outcome: 'crash', message: `restic crashed (${tag})${detail(text)}` };
    case 1: {
      for (const [re, outcome, msg] of PATTERNS)
        if (re.test(text)) return { outcome, message: `${msg} (${tag})${outcome === 'failed' || outcome === 'config-error' ? detail(text) : ''}` };
      // "context canceled" without our signal: something else interrupted restic; report it as a failure.
      return { outcome: 'failed', message: `restic failed (${tag})${detail(text)}` };
    }
    default:
      return { outcome: 'failed', message: `restic failed (${tag})${detail(text)}` };
  }
}
