import { diskUsage } from '../disk-usage.js';
import type { HeartbeatFacts } from './types.js';

/** One lease as listed in heartbeat `running` (spec §5.3). */
export interface RunningLease {
  readonly task_id: string;
  readonly lease_id: string;
  readonly attempt: number;
  /** `claiming` while the claim is sent but not yet acknowledged. */
  readonly state: string;
  readonly status_seq: number;
  readonly log_seq: number;
  readonly elapsed_s: number;
}

/** Agent-side state the heartbeat needs besides the machine facts. */
export interface HeartbeatState {
  readonly seq: number;
  readonly bootId: string;
  readonly uptimeS: number;
  readonly state: 'idle' | 'busy' | 'draining' | 'suspended' | 'stopping';
  readonly capacityMax: number;
  readonly running: ReadonlyArray<RunningLease>;
  readonly rttMs: number | null;
  readonly spool: { records: number; bytes: number; oldest_age_s: number; dead_letters: number; degraded: boolean };
  readonly clockDriftMs: number;
  readonly keyStoreBackend: string;
  readonly final?: boolean;
}

/** Builds the heartbeat body from agent state and provider facts. */
export function buildHeartbeat(s: HeartbeatState, facts: HeartbeatFacts, now = new Date()): Record<string, unknown> {
  return {
    seq: s.seq,
    boot_id: s.bootId,
    sent_at: now.toISOString(),
    uptime_s: Math.round(s.uptimeS),
    state: s.state,
    capacity: { max: s.capacityMax, free: Math.max(0, s.capacityMax - s.running.length) },
    running: s.running,
    resources: facts.resources,
    disks: facts.disks,
    connectivity: { ...(s.rttMs !== null ? { orchestrator_rtt_ms: s.rttMs } : {}), repos: facts.repos },
    spool: s.spool,
    clock: { ntp_synced: facts.ntp_synced, monotonic_wall_drift_ms: Math.round(s.clockDriftMs) },
    restic_version: facts.restic_version,
    key_store: { backend: s.keyStoreBackend },
    ...(facts.agent_version ? { agent_version: facts.agent_version } : {}),
    ...(facts.sources?.length ? { sources: facts.sources } : {}),
    ...(facts.update ? { update: facts.update } : {}),
    ...(s.final ? { final: true } : {}),
  };
}

/** A basic provider from `os`/`process` (the agent core supplies disks and repo reachability). */
export async function defaultHeartbeatFacts(mounts: ReadonlyArray<string> = []): Promise<HeartbeatFacts> {
  const os = await import('node:os');
  const disks = (await diskUsage(mounts)).map((d) => ({ mount: d.path, free_bytes: d.freeBytes, total_bytes: d.totalBytes }));
  const total = os.totalmem();
  return {
    resources: {
      cpu_pct: 0,
      load1: os.loadavg()[0] ?? 0,
      mem_used_bytes: total - os.freemem(),
      mem_total_bytes: total,
      agent_rss_bytes: process.memoryUsage().rss,
    },
    disks,
    repos: [],
    restic_version: null,
    ntp_synced: null,
  };
}
