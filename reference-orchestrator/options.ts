/**
 * Tunables of the reference orchestrator. Every duration the agent sees is sent as relative seconds (spec §2.6);
 * the defaults are the spec's. Tests shrink them (e.g. `lostAfterS: 2`) to exercise timeouts quickly.
 */

/** Wall clock of the orchestrator, injectable so tests can move time without sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** Creates a manual clock starting at `startMs` (default: the real time now). */
export function createManualClock(startMs = Date.now()): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

/** All server tunables (seconds unless the name says otherwise). */
export interface OrchestratorOptions {
  /** Bearer token for `/admin/*`. Generated when absent (see `Orchestrator.adminToken`). */
  adminToken: string;
  heartbeatIntervalS: number;
  pollWaitMaxS: number;
  leaseTtlS: number;
  offerTtlS: number;
  progressIntervalS: number;
  logFlushIntervalMs: number;
  logBatchMaxLines: number;
  logBatchMaxBytes: number;
  logMaxBytesPerTask: number;
  spoolMaxBytes: number;
  drainMaxRps: number;
  /** Default per-task values (a task may override them). */
  lostAfterS: number;
  maxRuntimeS: number;
  cancelGraceS: number;
  enrollmentTtlS: number;
  tokenTtlS: number;
  tokenRotateAfterS: number;
  /** How long after expiry an agent token may still call token/rotate (§5.2: 30 days). */
  rotationGraceS: number;
  /** How long the old token stays valid while the new one is unused (§5.2: 7 days). */
  rotationOverlapS: number;
  /** Requests with the old token this soon after the new one's first use are in flight, not theft (§5.2: 5 s). */
  supersededInFlightS: number;
  /** Revoke every token of an agent whose superseded token is used again (§5.2 "MAY"). */
  revokeAllOnSupersededUse: boolean;
  /** No agent offline and no lease expiry until `start + failoverGraceS` (§5.3: 300 s). */
  failoverGraceS: number;
  retryMaxAttempts: number;
  /** Delay before attempt n+1 is `retryDelaysS[n-1]` (last value repeats). Spec: 1 / 5 / 15 min. */
  retryDelaysS: number[];
  /** Agents below this `Agent-Version` get `426` on register and GET /tasks. */
  minAgentVersion: string | null;
  recommendedAgentVersion: string | null;
  /** Largest request body on the wire (compressed) and after gunzip. */
  maxBodyBytes: number;
  maxDecodedBytes: number;
  idempotencyTtlS: number;
  clockSkewAlertMs: number;
  /** A level-triggered poll command already delivered is re-sent at once only after this long (avoids hot polls). */
  commandRedeliverS: number;
  /** Real-time period of the background sweep (offer/lease expiry, retries); 0 disables the timer. */
  sweepIntervalMs: number;
}

/** The spec defaults. */
export const DEFAULT_OPTIONS: Omit<OrchestratorOptions, 'adminToken'> = {
  heartbeatIntervalS: 30,
  pollWaitMaxS: 50,
  leaseTtlS: 120,
  offerTtlS: 60,
  progressIntervalS: 10,
  logFlushIntervalMs: 2000,
  logBatchMaxLines: 1000,
  logBatchMaxBytes: 262_144,
  logMaxBytesPerTask: 67_108_864,
  spoolMaxBytes: 268_435_456,
  drainMaxRps: 5,
  lostAfterS: 1800,
  maxRuntimeS: 21_600,
  cancelGraceS: 60,
  enrollmentTtlS: 3600,
  tokenTtlS: 7_776_000,
  tokenRotateAfterS: 2_592_000,
  rotationGraceS: 2_592_000,
  rotationOverlapS: 604_800,
  supersededInFlightS: 5,
  revokeAllOnSupersededUse: false,
  failoverGraceS: 300,
  retryMaxAttempts: 3,
  retryDelaysS: [60, 300, 900],
  minAgentVersion: null,
  recommendedAgentVersion: null,
  maxBodyBytes: 1_048_576,
  maxDecodedBytes: 8_388_608,
  idempotencyTtlS: 86_400,
  clockSkewAlertMs: 120_000,
  commandRedeliverS: 10,
  sweepIntervalMs: 1000,
};

/** The `config` object sent to agents at register (§5.1). */
export function agentConfig(o: OrchestratorOptions): Record<string, number> {
  return {
    heartbeat_interval_s: o.heartbeatIntervalS,
    poll_wait_max_s: o.pollWaitMaxS,
    lease_ttl_s: o.leaseTtlS,
    offer_ttl_s: o.offerTtlS,
    progress_interval_s: o.progressIntervalS,
    log_flush_interval_ms: o.logFlushIntervalMs,
    log_batch_max_lines: o.logBatchMaxLines,
    log_batch_max_bytes: o.logBatchMaxBytes,
    log_max_bytes_per_task: o.logMaxBytesPerTask,
    spool_max_bytes: o.spoolMaxBytes,
    drain_max_rps: o.drainMaxRps,
  };
}

/** Compares dotted numeric versions (`1.4.2`); a pre-release suffix is ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .split(/[-+]/)[0]!
    .split('.')
    .map((x) => Number.parseInt(x, 10) || 0);
  const pb = b
    .split(/[-+]/)[0]!
    .split('.')
    .map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
