import type { RunOutcome } from '../../../shared/model/run.js';
import type { RetryPolicy } from '../config/types.js';

/** How a failed run is treated: retried later, reported and left alone, or neither (success, user cancel). */
export type FailureClass = 'ok' | 'transient' | 'permanent' | 'ignore';

/** Words restic (and Go's net stack) print when the failure is the network or the backend, not us. */
const TRANSPORT = [
  /connection refused/i,
  /connection reset/i,
  /connection timed out/i,
  /i\/o timeout/i,
  /timeout awaiting/i,
  /no route to host/i,
  /network is unreachable/i,
  /temporary failure in name resolution/i,
  /no such host/i,
  /server misbehaving/i,
  /tls handshake/i,
  /broken pipe/i,
  /unexpected eof/i,
  /\bEOF\b/,
  /\b50[234]\b/,
  /too many requests|\b429\b/i,
  /dial tcp/i,
  /ssh: .*(closed|handshake)|subprocess ssh/i,
];

/** True when a `failed` message looks like a network or backend hiccup worth retrying. */
export function looksLikeTransport(message: string): boolean {
  return TRANSPORT.some((re) => re.test(message));
}

/**
 * Sorts an outcome into what the scheduler should do.
 *
 * Retrying a wrong password or a missing repository only repeats the same error (and, for Backrest's
 * users, duplicate snapshots are the fear for blanket retries); a lock, a stall, a timeout or a dropped
 * connection usually clears up by itself.
 */
export function classifyOutcome(outcome: RunOutcome, message: string): FailureClass {
  switch (outcome) {
    case 'success':
    case 'partial':
      return 'ok';
    case 'cancelled':
    case 'killed':
      return 'ignore';
    case 'locked':
    case 'stalled':
    case 'timeout':
      return 'transient';
    case 'failed':
      return looksLikeTransport(message) ? 'transient' : 'permanent';
    case 'wrong-password':
    case 'no-repo':
    case 'config-error':
    case 'crash':
      return 'permanent';
  }
}

/** Human explanation of a permanent failure, naming the fix. */
export function permanentReason(outcome: RunOutcome): string {
  switch (outcome) {
    case 'wrong-password':
      return 'the repository password is wrong; fix the password, the next scheduled run will use it';
    case 'no-repo':
      return 'there is no repository at this location; initialise it or fix the URL';
    case 'config-error':
      return 'the configuration is invalid for restic; fix it and save';
    case 'crash':
      return 'restic crashed; see the run log';
    default:
      return 'the failure does not look temporary, so it is not retried';
  }
}

/**
 * Delay before retry number `attempt` (the first retry is attempt 2): `initial · 2^(attempt-2)`, capped at
 * `maxDelayMs`. Returns null when `attempt` exceeds `maxAttempts` (which counts the first try too).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number | null {
  if (attempt > policy.maxAttempts || attempt < 2) return null;
  const raw = policy.initialDelayMs * 2 ** (attempt - 2);
  return Math.min(raw, policy.maxDelayMs);
}
