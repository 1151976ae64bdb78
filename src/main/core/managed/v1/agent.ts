import type { Dispatcher } from 'undici';
import type { Logger } from '../../log/logger.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { StateDb } from '../../state/db.js';
import { watchClock } from '../../time/clock.js';
import { AuthKeeper } from './auth.js';
import type { Failpoint } from './failpoints.js';
import { beat, heartbeatLoop } from './heartbeat-loop.js';
import type { Link } from './link.js';
import { pollLoop } from './poll-loop.js';
import { recoverJournal } from './recovery.js';
import { OutboxSender } from './sender.js';
import { Session } from './session.js';
import type { HeartbeatProvider, TaskExecutor, Tunables } from './types.js';

/** Options of `ManagedAgent`. */
export interface ManagedAgentOptions {
  readonly url: string;
  readonly caFile?: string | null;
  readonly insecureLoopback?: boolean;
  /** State DB with `orchestratorMigrations` applied (the same file enrollment used). */
  readonly db: StateDb;
  readonly secrets: SecretStore;
  readonly executor: TaskExecutor;
  readonly agentVersion: string;
  readonly resticVersion?: string | null;
  readonly heartbeatFacts?: HeartbeatProvider;
  readonly log?: Logger;
  readonly maxConcurrentTasks?: number;
  /** Defaults to `envFailpoint()` (`RESTIC_AGENT_FAILPOINTS`). */
  readonly failpoint?: Failpoint;
  /** Random wait before the first poll, default up to 10 s (spec §6). */
  readonly startupStaggerMs?: number;
  /** Local overrides of the server tunables (tests). */
  readonly tunables?: Partial<Tunables>;
  /** Called on state changes (offline, suspended, upgrade required…) with a user-facing sentence. */
  readonly onState?: (s: ManagedStatus) => void;
  /** Called after each authenticated 2xx heartbeat: the stored token works. */
  readonly onAuthenticated?: () => void;
  readonly dispatcher?: Dispatcher;
}

/** What the UI / CLI shows about managed mode. */
export interface ManagedStatus {
  readonly state: 'idle' | 'busy' | 'draining' | 'suspended' | 'stopping' | 'stopped';
  readonly offline: boolean;
  readonly auth: Link['auth'];
  readonly message: string | null;
  readonly running: ReadonlyArray<{ taskId: string; leaseId: string; phase: string }>;
}

/**
 * Managed mode (protocol v1): heartbeat, one long poll always outstanding, claim-then-run, durable outbox
 * drain, token rotation, crash recovery. Started and stopped by the agent core. The loops share one `Session`
 * and live in `heartbeat-loop.ts`, `poll-loop.ts`, `sender.ts` and `auth.ts`; this class is their lifecycle.
 */
export class ManagedAgent {
  readonly #s: Session;
  readonly #auth: AuthKeeper;
  readonly #sender: OutboxSender;
  readonly #life = new AbortController();
  #loops: Promise<unknown>[] = [];

  constructor(opts: ManagedAgentOptions) {
    const s = (this.#s = new Session(opts));
    this.#auth = new AuthKeeper(s);
    this.#sender = new OutboxSender({
      client: s.client,
      outbox: s.outbox,
      link: s.link,
      tunables: () => s.tun,
      log: s.log,
      onLease: (lease, signal) => s.tasks.get(lease)?.requestStop(signal === 'cancel' ? 'cancel' : 'superseded'),
      onAuthProblem: (r) => this.#auth.onProblem(r),
      failpoint: s.fp,
    });
  }

  /** The agent id from enrollment (null before). */
  get agentId(): string | null {
    return this.#s.agentId;
  }

  /** Current managed-mode status. */
  status(): ManagedStatus {
    return this.#s.status();
  }

  /** Loads credentials, recovers from a crash (spec §7.3), then starts the loops. */
  async start(): Promise<void> {
    const s = this.#s;
    await s.slots.load();
    if (!s.slots.current && !s.slots.next) {
      throw new Error('managed mode: no agent token in the secret store; enroll this agent first (restic-agent enroll)');
    }
    await recoverJournal({ outbox: s.outbox, executor: s.o.executor, spool: s.spool, log: s.log });
    const signal = this.#life.signal;
    this.#loops = [heartbeatLoop(s, this.#auth, signal), pollLoop(s, this.#auth, signal), this.#sender.run(signal), this.#watchClock(signal)].map((p) =>
      p.catch((e: unknown) => s.log.error(`managed mode loop crashed: ${(e as Error).message}`)),
    );
  }

  /** Draining: no new claims (the heartbeat says `draining`); running tasks go on. False claims again. */
  drain(on: boolean): void {
    const s = this.#s;
    s.draining = on;
    if (on) s.pollAbort?.abort();
    s.hbKick?.();
  }

  /** One heartbeat with the stored token, nothing else (the update health check). Throws why it failed. */
  async probe(): Promise<void> {
    const s = this.#s;
    await s.slots.load();
    if (!s.slots.current && !s.slots.next) throw new Error('managed mode: no agent token in the secret store');
    try {
      if (!(await beat(s, this.#auth, AbortSignal.timeout(30_000), 'probe')))
        throw new Error(`the heartbeat failed: ${s.message ?? 'no 2xx answer from the orchestrator'}`);
    } finally {
      await s.client.close();
    }
  }

  /** Graceful stop (spec §8.3): drain, wait for tasks up to `graceMs`, flush ≤ 10 s, final heartbeat. */
  async stop(opts: { graceMs?: number; flushMs?: number } = {}): Promise<void> {
    const s = this.#s;
    if (s.stopping) return;
    s.draining = true;
    s.pollAbort?.abort();
    s.hbKick?.();
    const runs = Promise.all([...s.runs]);
    const graceMs = opts.graceMs ?? 60_000;
    const waited = await Promise.race([runs.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!waited) {
      for (const t of s.tasks.values()) t.requestStop('shutdown');
      await runs;
    }
    s.spool.flush();
    const until = performance.now() + (opts.flushMs ?? 10_000);
    const flushSignal = AbortSignal.timeout(opts.flushMs ?? 10_000);
    while (performance.now() < until && s.link.auth === 'ok') {
      if ((await this.#sender.drainOnce(flushSignal)) === 'idle') break;
    }
    s.stopping = true;
    this.#life.abort();
    await Promise.all(this.#loops);
    if (s.link.auth === 'ok') await beat(s, this.#auth, AbortSignal.timeout(5000), 'final').catch(() => {});
    await s.client.close();
    s.emit();
  }

  /** Test helper: stops everything at once without reporting, like a crash (the journal stays as it is). */
  async abandon(): Promise<void> {
    const s = this.#s;
    s.stopping = true;
    this.#life.abort();
    s.pollAbort?.abort();
    for (const t of s.tasks.values()) t.requestStop('shutdown');
    await Promise.all(this.#loops);
    await s.client.close();
  }

  /** Clock-jump detection (spec §6): wall vs monotonic disagreement > 30 s → reconnect at once. */
  #watchClock(signal: AbortSignal): Promise<void> {
    return watchClock(signal, (drift) => {
      this.#s.clockDriftMs = drift;
      if (Math.abs(drift) <= 30_000) return;
      this.#s.log.info(`clock jump of ${Math.round(drift / 1000)} s detected (sleep or NTP step); reconnecting`);
      this.#s.reconnect();
    });
  }
}
