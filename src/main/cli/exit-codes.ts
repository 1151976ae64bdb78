import type { RunOutcome, RunRecord } from '../../shared/model/run.js';

/**
 * `restic-agent` exit codes. They mirror restic's own where the meaning is the same, so scripts that know
 * restic read them the same way.
 */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  noRepository: 10,
  locked: 11,
  wrongPassword: 12,
  configError: 78,
  cancelled: 130,
} as const;

const BY_OUTCOME: Readonly<Record<RunOutcome, number>> = {
  success: EXIT.ok,
  partial: EXIT.partial,
  'no-repo': EXIT.noRepository,
  locked: EXIT.locked,
  'wrong-password': EXIT.wrongPassword,
  cancelled: EXIT.cancelled,
  'config-error': EXIT.configError,
  timeout: EXIT.failed,
  stalled: EXIT.failed,
  killed: EXIT.failed,
  crash: EXIT.failed,
  failed: EXIT.failed,
};

/** The exit code for a set of runs: success only if all succeeded; otherwise the worst run decides. */
export function exitCodeFor(records: ReadonlyArray<RunRecord>): number {
  const codes = records.map((r) => BY_OUTCOME[r.outcome ?? 'failed']);
  const failures = codes.filter((c) => c !== EXIT.ok && c !== EXIT.partial);
  return failures[0] ?? (codes.includes(EXIT.partial) ? EXIT.partial : EXIT.ok);
}
