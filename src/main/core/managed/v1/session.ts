import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../../log/logger.js';
import { orchestratorScope, TokenSlots } from '../credentials.js';
import { OrchestratorClient } from './client.js';
import { KV } from './enrollment.js';
import { envFailpoint, type Failpoint } from './failpoints.js';
import { Link } from './link.js';
import { LogSpool } from './log-spool.js';
import { Outbox } from './outbox.js';
import type { ActiveTask } from './task-runner.js';
import { DEFAULT_TUNABLES, type Tunables } from './types.js';
import { stripUndefined, TunablesPatchSchema } from './wire.js';
import type { ManagedAgentOptions, ManagedStatus } from './agent.js';

/**
 * The state the loops of managed mode share (heartbeat, long poll, sender, clock watch): the connection, the
 * credentials, the tunables, the running tasks and the flags of the lifecycle. One instance per `ManagedAgent`.
 */
export class Session {
  readonly fp: Failpoint;
  readonly log: Logger;
  readonly outbox: Outbox;
  readonly slots: TokenSlots;
  readonly link: Link;
  readonly client: OrchestratorClient;
  readonly spool: LogSpool;
  /** Live attempts by lease id. */
  readonly tasks = new Map<string, ActiveTask>();
  /** Their run promises (what a graceful stop waits for). */
  readonly runs = new Set<Promise<void>>();
  readonly bootId = randomUUID();
  readonly t0 = performance.now();
  tun: Tunables;
  hbInterval: number;
  hbSeq = 0;
  agentId: string | null;
  draining = false;
  stopping = false;
  message: string | null = null;
  clockDriftMs = 0;
  /** Server-measured skew of our wall clock (heartbeat `clock_skew_ms`), null until known. */
  serverSkewMs: number | null = null;
  /** Cuts the outstanding long poll (capacity changed, stop, clock jump). */
  pollAbort: AbortController | null = null;
  /** Cuts the poll loop's transient-error backoff when the link comes back (spec §6: reconnect at once). */
  pollRetryCut: AbortController | null = null;
  /** Ends the heartbeat loop's wait (send one now). */
  hbKick: (() => void) | null = null;

  constructor(readonly o: ManagedAgentOptions) {
    this.fp = o.failpoint ?? envFailpoint();
    this.log = o.log ?? silentLogger;
    this.outbox = new Outbox(o.db);
    this.slots = new TokenSlots(o.secrets, orchestratorScope(o.url, 'v1'));
    this.agentId = this.outbox.kvGet(KV.agentId);
    const stored = this.outbox.kvGet(KV.tunables);
    const fromServer = stored ? TunablesPatchSchema.safeParse(JSON.parse(stored)) : null;
    this.tun = { ...DEFAULT_TUNABLES, ...(fromServer?.success ? stripUndefined(fromServer.data) : {}), ...o.tunables };
    this.hbInterval = this.tun.heartbeat_interval_s * 1000;
    this.link = new Link((what) => {
      if (what === 'online') this.pollRetryCut?.abort();
      this.emit();
    });
    this.client = new OrchestratorClient({
      url: o.url,
      caFile: o.caFile ?? null,
      caPin: this.outbox.kvGet(KV.caPin),
      insecureLoopback: o.insecureLoopback ?? false,
      identity: { agentVersion: o.agentVersion, resticVersion: o.resticVersion ?? null, bootId: this.bootId },
      token: () => this.slots.current,
      agentId: () => this.agentId,
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    this.spool = new LogSpool(this.outbox, () => this.tun.spool_max_bytes);
  }

  status(): ManagedStatus {
    const auth = this.link.auth;
    const state = this.stopping
      ? 'stopping'
      : auth === 'suspended' || auth === 'gone'
        ? 'suspended'
        : this.draining
          ? 'draining'
          : this.tasks.size > 0
            ? 'busy'
            : 'idle';
    return {
      state,
      offline: this.link.offline,
      auth,
      message: this.message,
      running: [...this.tasks.values()].map((t) => ({ taskId: t.task.taskId, leaseId: t.leaseId, phase: t.phase })),
    };
  }

  emit(): void {
    this.o.onState?.(this.status());
  }

  setMessage(m: string): void {
    if (this.message === m) return;
    this.message = m;
    this.log.warn(`managed mode: ${m}`);
    this.emit();
  }

  /** Applies a server tunables patch (local overrides win) and persists the result. */
  applyConfig(patch: object): void {
    const p = TunablesPatchSchema.safeParse(patch);
    if (!p.success) return;
    this.tun = { ...this.tun, ...stripUndefined(p.data), ...this.o.tunables };
    this.hbInterval = this.tun.heartbeat_interval_s * 1000;
    this.outbox.kvSet(KV.tunables, JSON.stringify(this.tun));
  }

  /** How many more tasks a poll may ask for. */
  capacity(): number {
    if (this.draining || this.link.upgradeRequired || this.link.auth !== 'ok') return 0;
    return Math.max(0, (this.o.maxConcurrentTasks ?? 1) - this.tasks.size);
  }

  cancelAll(): void {
    for (const t of this.tasks.values()) t.requestStop('cancel');
  }

  /** Reconnect at once: a new long poll, a heartbeat now, the sender awake (clock jump, wake from sleep). */
  reconnect(): void {
    this.pollAbort?.abort();
    this.hbKick?.();
    this.link.wake();
  }
}
