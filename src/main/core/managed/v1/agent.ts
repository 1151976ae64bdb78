import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { silentLogger, type Logger } from '../../log/logger.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { StateDb } from '../../state/db.js';
import { Backoff, cryptoJitter, POLL_BACKOFF, sleep } from '../backoff.js';
import { OrchestratorClient, type CallResult } from './client.js';
import { orchestratorScope, TokenSlots } from '../credentials.js';
import { KV } from './enrollment.js';
import { envFailpoint, type Failpoint } from './failpoints.js';
import { buildHeartbeat, defaultHeartbeatFacts } from './heartbeat.js';
import { Link } from './link.js';
import { LogSpool } from './log-spool.js';
import { Outbox } from './outbox.js';
import { recoverJournal } from './recovery.js';
import { OutboxSender, type LeaseSignal } from './sender.js';
import { ActiveTask } from './task-runner.js';
import { validateOffer } from './tasks.js';
import { DEFAULT_TUNABLES, type HeartbeatProvider, type TaskExecutor, type Tunables } from './types.js';
import { CommandSchema, stripUndefined, TunablesPatchSchema } from './wire.js';

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
 * The pull loop of managed mode (protocol v1): heartbeat, one long-poll always outstanding, claim-then-run,
 * durable outbox drain, token rotation, crash recovery. Started and stopped by the agent core.
 */
export class ManagedAgent {
  readonly #o: ManagedAgentOptions;
  readonly #fp: Failpoint;
  readonly #log: Logger;
  readonly #outbox: Outbox;
  readonly #slots: TokenSlots;
  readonly #link: Link;
  readonly #client: OrchestratorClient;
  readonly #spool: LogSpool;
  readonly #sender: OutboxSender;
  readonly #tasks = new Map<string, ActiveTask>();
  readonly #runs = new Set<Promise<void>>();
  readonly #bootId = randomUUID();
  readonly #t0 = performance.now();
  #tun: Tunables;
  #life = new AbortController();
  #pollAbort: AbortController | null = null;
  #loops: Promise<unknown>[] = [];
  #hbSeq = 0;
  #hbInterval: number;
  #hbKick: (() => void) | null = null;
  #draining = false;
  #stopping = false;
  #rotating = false;
  #message: string | null = null;
  #clockDriftMs = 0;
  /** Server-measured skew of our wall clock (heartbeat `clock_skew_ms`), null until known. */
  #serverSkewMs: number | null = null;
  /** Cuts the poll loop's transient-error backoff when the link comes back (spec §6: reconnect at once). */
  #pollRetryCut: AbortController | null = null;
  #agentId: string | null;

  constructor(opts: ManagedAgentOptions) {
    this.#o = opts;
    this.#fp = opts.failpoint ?? envFailpoint();
    this.#log = opts.log ?? silentLogger;
    this.#outbox = new Outbox(opts.db);
    this.#slots = new TokenSlots(opts.secrets, orchestratorScope(opts.url, 'v1'));
    this.#agentId = this.#outbox.kvGet(KV.agentId);
    const stored = this.#outbox.kvGet(KV.tunables);
    const fromServer = stored ? TunablesPatchSchema.safeParse(JSON.parse(stored)) : null;
    this.#tun = { ...DEFAULT_TUNABLES, ...(fromServer?.success ? stripUndefined(fromServer.data) : {}), ...opts.tunables };
    this.#hbInterval = this.#tun.heartbeat_interval_s * 1000;
    this.#link = new Link((what) => {
      if (what === 'online') this.#pollRetryCut?.abort();
      this.#emit();
    });
    this.#client = new OrchestratorClient({
      url: opts.url,
      caFile: opts.caFile ?? null,
      caPin: this.#outbox.kvGet(KV.caPin),
      insecureLoopback: opts.insecureLoopback ?? false,
      identity: { agentVersion: opts.agentVersion, resticVersion: opts.resticVersion ?? null, bootId: this.#bootId },
      token: () => this.#slots.current,
      agentId: () => this.#agentId,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    this.#spool = new LogSpool(this.#outbox, () => this.#tun.spool_max_bytes);
    this.#sender = new OutboxSender({
      client: this.#client,
      outbox: this.#outbox,
      link: this.#link,
      tunables: () => this.#tun,
      log: this.#log,
      onLease: (lease, s) => this.#onLease(lease, s),
      onAuthProblem: (r) => this.#onAuthProblem(r),
      failpoint: this.#fp,
    });
  }

  /** The agent id from enrollment (null before). */
  get agentId(): string | null {
    return this.#agentId;
  }

  /** Current managed-mode status. */
  status(): ManagedStatus {
    return {
      state: this.#stopping
        ? 'stopping'
        : this.#link.auth === 'suspended' || this.#link.auth === 'gone'
          ? 'suspended'
          : this.#draining
            ? 'draining'
            : this.#tasks.size > 0
              ? 'busy'
              : 'idle',
      offline: this.#link.offline,
      auth: this.#link.auth,
      message: this.#message,
      running: [...this.#tasks.values()].map((t) => ({ taskId: t.task.taskId, leaseId: t.leaseId, phase: t.phase })),
    };
  }

  /** Loads credentials, recovers from a crash (spec §7.3), then starts the loops. */
  async start(): Promise<void> {
    await this.#slots.load();
    if (!this.#slots.current && !this.#slots.next) {
      throw new Error('managed mode: no agent token in the secret store; enroll this agent first (restic-agent enroll)');
    }
    await recoverJournal({ outbox: this.#outbox, executor: this.#o.executor, spool: this.#spool, log: this.#log });
    const signal = this.#life.signal;
    this.#loops = [this.#heartbeatLoop(signal), this.#pollLoop(signal), this.#sender.run(signal), this.#ticker(signal)].map((p) =>
      p.catch((e: unknown) => this.#log.error(`managed mode loop crashed: ${(e as Error).message}`)),
    );
  }

  /** Graceful stop (spec §8.3): drain, wait for tasks up to `graceMs`, flush ≤ 10 s, final heartbeat. */
  async stop(opts: { graceMs?: number; flushMs?: number } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#draining = true;
    this.#pollAbort?.abort();
    this.#hbKick?.();
    const runs = Promise.all([...this.#runs]);
    const graceMs = opts.graceMs ?? 60_000;
    const waited = await Promise.race([runs.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
    if (!waited) {
      for (const t of this.#tasks.values()) t.requestStop('shutdown');
      await runs;
    }
    this.#spool.flush();
    const until = performance.now() + (opts.flushMs ?? 10_000);
    const flushSignal = AbortSignal.timeout(opts.flushMs ?? 10_000);
    while (performance.now() < until && this.#link.auth === 'ok') {
      if ((await this.#sender.drainOnce(flushSignal)) === 'idle') break;
    }
    this.#stopping = true;
    this.#life.abort();
    await Promise.all(this.#loops);
    if (this.#link.auth === 'ok') await this.#beat(AbortSignal.timeout(5000), true).catch(() => {});
    await this.#client.close();
    this.#emit();
  }

  /** Test helper: stops everything at once without reporting, like a crash (the journal stays as it is). */
  async abandon(): Promise<void> {
    this.#stopping = true;
    this.#life.abort();
    this.#pollAbort?.abort();
    for (const t of this.#tasks.values()) t.requestStop('shutdown');
    await Promise.all(this.#loops);
    await this.#client.close();
  }

  // ---- heartbeat and credentials -------------------------------------------------------------------------

  async #heartbeatLoop(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ baseMs: 1000, capMs: this.#hbInterval });
    let retryIn: number | null = (await this.#beat(signal)) ? null : backoff.fail();
    while (!signal.aborted) {
      const a = this.#link.auth;
      if (a === 'gone') return;
      // Suspended or disabled: probe every 5 min at most, no crash loop (spec §3, scenario 11).
      const delay = a === 'suspended' || a === 'forbidden' ? 300_000 : (retryIn ?? this.#hbInterval * (0.9 + cryptoJitter(200) / 1000));
      const kick = new AbortController();
      this.#hbKick = () => kick.abort();
      await sleep(delay, AbortSignal.any([signal, kick.signal]));
      this.#hbKick = null;
      if (signal.aborted) return;
      if (this.#link.auth === 'expired') await this.#rotate('scheduled', signal);
      if (await this.#beat(signal)) {
        backoff.succeed();
        retryIn = null;
      } else retryIn = Math.min(this.#hbInterval, backoff.fail());
    }
  }

  /** Sends one heartbeat (with `next` when present) and applies the response. True on 2xx. */
  async #beat(signal: AbortSignal, final = false): Promise<boolean> {
    const facts = await (this.#o.heartbeatFacts ?? (() => defaultHeartbeatFacts()))();
    const useNext = this.#slots.next;
    const body = buildHeartbeat(
      {
        seq: ++this.#hbSeq,
        bootId: this.#bootId,
        uptimeS: (performance.now() - this.#t0) / 1000,
        state: final ? 'stopping' : heartbeatState(this.status().state),
        capacityMax: this.#o.maxConcurrentTasks ?? 1,
        running: this.#runningLeases(),
        rttMs: this.#link.rttMs,
        spool: this.#outbox.stats(false),
        clockDriftMs: this.#clockDriftMs,
        keyStoreBackend: this.#slots.backend,
        final,
      },
      facts,
    );
    const r = this.#link.observe(await this.#client.heartbeat(body, { ...(useNext ? { token: useNext } : {}), signal }));
    if (!r.ok) {
      if (r.kind === 'auth' && useNext) {
        this.#log.warn('orchestrator: the rotated token was refused; keeping the current one and rotating again later');
        await this.#slots.discardNext();
        return false;
      }
      if (r.kind !== 'transient' && r.kind !== 'overload') this.#onAuthProblem(r);
      else this.#log.debug(`orchestrator heartbeat failed: ${r.message}`);
      return false;
    }
    if (useNext) {
      await this.#slots.promote();
      this.#log.info('orchestrator: agent token rotated');
    }
    if (this.#link.auth !== 'ok') {
      this.#link.setAuth('ok');
      this.#message = null;
    }
    this.#o.onAuthenticated?.();
    const b = r.body;
    if (!b) return true;
    if (b.next_heartbeat_s) this.#hbInterval = b.next_heartbeat_s * 1000;
    if (typeof b.clock_skew_ms === 'number') this.#serverSkewMs = b.clock_skew_ms;
    if (b.config) this.#applyConfig(b.config);
    for (const d of b.tasks) {
      const t = this.#tasks.get(d.lease_id);
      if (!t) continue;
      if (d.directive === 'cancel') t.requestStop('cancel');
      else if (d.directive === 'stop' || d.directive === 'unknown') t.requestStop('superseded');
    }
    if (b.upgrade?.min_version && versionLess(this.#o.agentVersion, b.upgrade.min_version)) {
      this.#setMessage(`this agent (${this.#o.agentVersion}) is older than the orchestrator's minimum ${b.upgrade.min_version}; upgrade restic-agent`);
    }
    if (b.token?.rotate && !final) void this.#rotate('server_requested', signal);
    return true;
  }

  /** Every lease the agent holds: live attempts plus finished ones whose report is still in the outbox (spec §5.3). */
  #runningLeases() {
    const live = [...this.#tasks.values()].filter((t) => t.phase !== 'done').map((t) => t.runningEntry());
    const seen = new Set(live.map((l) => l.lease_id));
    const held = this.#outbox
      .heldLeases()
      .filter((l) => !seen.has(l.lease_id))
      .map((l) => ({ ...l, elapsed_s: 0 }));
    return [...live, ...held];
  }

  /** Token rotation (spec §5.2): counter persisted first, new token into `next`, proven by the next heartbeat. */
  async #rotate(reason: 'scheduled' | 'server_requested' | 'manual', signal: AbortSignal): Promise<void> {
    const current = this.#slots.current;
    if (this.#rotating || this.#slots.next || !current || !this.#agentId) return;
    this.#rotating = true;
    try {
      const counter = Number(this.#outbox.kvGet(KV.rotationCounter) ?? '0') + 1;
      this.#outbox.kvSet(KV.rotationCounter, String(counter));
      const r = this.#link.observe(await this.#client.rotate(reason, `rot:${this.#agentId}:${counter}`, current, signal));
      if (r.ok && r.body) {
        this.#fp('after_rotate_response');
        await this.#slots.setNext(r.body.agent_token);
        this.#hbKick?.();
        return;
      }
      if (!r.ok && r.kind === 'auth') this.#suspend(r.code, 'the orchestrator refused to rotate the agent token');
      else if (!r.ok) this.#log.warn(`orchestrator: token rotation failed (${r.message}); will retry`);
    } finally {
      this.#rotating = false;
    }
  }

  #onAuthProblem(r: Extract<CallResult<unknown>, { ok: false }>): void {
    switch (r.kind) {
      case 'auth':
        if (r.code === 'token_expired' && this.#link.auth === 'ok') {
          this.#link.setAuth('expired', r.code);
          this.#hbKick?.();
        } else if (r.code !== 'token_expired' && !this.#slots.next) this.#suspend(r.code, 'the orchestrator refused the agent token');
        break;
      case 'forbidden':
        this.#link.setAuth('forbidden', r.code);
        this.#setMessage(`the orchestrator disabled this agent (${r.code ?? '403'}); no new tasks are taken`);
        break;
      case 'gone':
        this.#link.setAuth('gone', r.code);
        this.#cancelAll();
        this.#setMessage('the orchestrator deleted this agent; enroll it again');
        break;
      case 'upgrade_required':
        this.#link.upgradeRequired = r.problem?.min_version ?? 'unknown';
        this.#setMessage(`this agent is too old for the orchestrator (minimum ${this.#link.upgradeRequired}); upgrade restic-agent. Reports are still sent.`);
        break;
      default:
        break;
    }
  }

  #suspend(code: string | null, why: string): void {
    this.#link.setAuth('suspended', code);
    this.#cancelAll();
    this.#pollAbort?.abort();
    this.#setMessage(`${why} (${code ?? '401'}): managed mode is suspended; re-enroll this agent. The outbox is kept.`);
  }

  #cancelAll(): void {
    for (const t of this.#tasks.values()) t.requestStop('cancel');
  }

  // ---- long-poll ---------------------------------------------------------------------------------------

  async #pollLoop(signal: AbortSignal): Promise<void> {
    await sleep(cryptoJitter(this.#o.startupStaggerMs ?? 10_000), signal);
    const backoff = new Backoff(POLL_BACKOFF);
    let fastEmpty = 0;
    while (!signal.aborted) {
      if (this.#link.auth !== 'ok' || this.#stopping) {
        await this.#link.wait(5000, signal);
        continue;
      }
      const capacity = this.#capacity();
      this.#pollAbort = new AbortController();
      const pollSignal = AbortSignal.any([signal, this.#pollAbort.signal]);
      const r = this.#link.observe(await this.#client.poll(this.#tun.poll_wait_max_s, capacity, pollSignal));
      const cutByUs = this.#pollAbort.signal.aborted;
      this.#pollAbort = null;
      if (signal.aborted) return;
      if (r.ok) {
        backoff.succeed();
        if (r.status === 204 || !r.body) {
          fastEmpty = r.rttMs < 1000 ? fastEmpty + 1 : 0;
          if (fastEmpty >= 5) {
            fastEmpty = 0;
            await this.#link.wait(5000 + cryptoJitter(10_000), signal);
          }
          continue;
        }
        fastEmpty = 0;
        this.#handlePoll(r.body, capacity, signal);
        continue;
      }
      if (cutByUs) continue;
      if (r.kind === 'transient' || r.kind === 'overload') {
        const delay = backoff.fail({ offline: this.#link.offline, retryAfterMs: r.retryAfterMs });
        this.#log.debug(`orchestrator poll failed (${r.message}); retrying in ${delay} ms`);
        // Offline, the probe backs off up to 5 min; when a heartbeat gets through, poll again at once. An
        // overload answer (429/503) keeps its Retry-After.
        this.#pollRetryCut = new AbortController();
        await sleep(delay, r.kind === 'transient' ? AbortSignal.any([signal, this.#pollRetryCut.signal]) : signal);
        this.#pollRetryCut = null;
      } else {
        this.#onAuthProblem(r);
        await sleep(backoff.fail({ offline: true }), signal);
      }
    }
  }

  #capacity(): number {
    if (this.#draining || this.#link.upgradeRequired || this.#link.auth !== 'ok') return 0;
    return Math.max(0, (this.#o.maxConcurrentTasks ?? 1) - this.#tasks.size);
  }

  #handlePoll(body: { tasks: unknown[]; commands: unknown[] }, capacity: number, signal: AbortSignal): void {
    for (const raw of body.commands) {
      const c = CommandSchema.safeParse(raw);
      if (!c.success) {
        this.#log.info(`orchestrator: ignoring unknown command ${JSON.stringify(raw).slice(0, 120)}`);
        continue;
      }
      const cmd = c.data;
      if (cmd.type === 'cancel') {
        const t = (cmd.lease_id && this.#tasks.get(cmd.lease_id)) || [...this.#tasks.values()].find((x) => x.task.taskId === cmd.task_id);
        t?.requestStop('cancel');
      } else if (cmd.type === 'rotate_token') void this.#rotate('server_requested', signal);
      else if (cmd.type === 'drain') this.#draining = true;
      else this.#applyConfig(cmd.config);
    }
    let free = capacity;
    for (const raw of body.tasks) {
      const v = validateOffer(raw);
      if (v.kind === 'ignore') {
        this.#log.warn(`orchestrator: ignoring offer: ${v.reason}`);
        continue;
      }
      const leaseId = v.kind === 'task' ? v.task.leaseId : v.leaseId;
      // Offers are delivered at least once: the journal dedupes by lease_id (spec §5.4).
      if (this.#tasks.has(leaseId) || this.#outbox.journal(leaseId)) continue;
      if (v.kind === 'reject') {
        this.#log.warn(`orchestrator: rejecting task ${v.taskId}: ${v.reason}`);
        this.#outbox.recordOffer(
          {
            lease_id: v.leaseId,
            task_id: v.taskId,
            attempt: v.attempt,
            type: 'unknown',
            state: 'rejected',
            claim_acked: 0,
            status_seq: 1,
            log_seq: 0,
            claimed_at: null,
            cancel_grace_s: 0,
            params_json: '{}',
          },
          {
            lease_id: v.leaseId,
            attempt: v.attempt,
            status_seq: 1,
            state: 'rejected',
            reason: v.reason,
            log_seq: 0,
            result: { exit_code: null, incomplete: false, restic: null, error: { code: 'rejected', message: v.reason, retryable: false } },
          } as { status_seq: number; state: string },
        );
        this.#link.wake();
        continue;
      }
      if (free <= 0) continue;
      free -= 1;
      this.#runTask(
        new ActiveTask(v.task, {
          client: this.#client,
          outbox: this.#outbox,
          link: this.#link,
          spool: this.#spool,
          executor: this.#o.executor,
          tunables: () => this.#tun,
          failpoint: this.#fp,
          log: this.#log,
          kick: () => this.#link.wake(),
          clockSkewMs: () => this.#serverSkewMs,
        }),
        signal,
      );
    }
  }

  #runTask(t: ActiveTask, signal: AbortSignal): void {
    this.#tasks.set(t.leaseId, t);
    this.#emit();
    // Capacity went to 0: re-poll with capacity=0 only after this poll returns (one poll outstanding).
    const flush = setInterval(() => this.#spool.flush(t.leaseId), 250);
    const p = t
      .run(signal)
      .catch((e: unknown) => this.#log.error(`task ${t.task.taskId}: ${(e as Error).message}`))
      .finally(() => {
        clearInterval(flush);
        this.#tasks.delete(t.leaseId);
        this.#runs.delete(p);
        this.#link.wake();
        // Free capacity: cut the capacity=0 poll so the next one can take work at once.
        this.#pollAbort?.abort();
        this.#emit();
      });
    this.#runs.add(p);
  }

  #onLease(leaseId: string, s: LeaseSignal): void {
    const t = this.#tasks.get(leaseId);
    if (!t) return;
    t.requestStop(s === 'cancel' ? 'cancel' : 'superseded');
  }

  // ---- misc ----------------------------------------------------------------------------------------------

  /** Clock-jump detection (spec §6): wall vs monotonic disagreement > 30 s → reconnect at once. */
  async #ticker(signal: AbortSignal): Promise<void> {
    let wall = Date.now();
    let mono = performance.now();
    while (!signal.aborted) {
      await sleep(5000, signal);
      const dw = Date.now() - wall;
      const dm = performance.now() - mono;
      wall = Date.now();
      mono = performance.now();
      this.#clockDriftMs = dw - dm;
      if (Math.abs(dw - dm) > 30_000) {
        this.#log.info(`clock jump of ${Math.round((dw - dm) / 1000)} s detected (sleep or NTP step); reconnecting`);
        this.#pollAbort?.abort();
        this.#hbKick?.();
        this.#link.wake();
      }
    }
  }

  #applyConfig(patch: object): void {
    const p = TunablesPatchSchema.safeParse(patch);
    if (!p.success) return;
    this.#tun = { ...this.#tun, ...stripUndefined(p.data), ...this.#o.tunables };
    this.#hbInterval = this.#tun.heartbeat_interval_s * 1000;
    this.#outbox.kvSet(KV.tunables, JSON.stringify(this.#tun));
  }

  #setMessage(m: string): void {
    if (this.#message === m) return;
    this.#message = m;
    this.#log.warn(`managed mode: ${m}`);
    this.#emit();
  }

  #emit(): void {
    this.#o.onState?.(this.status());
  }
}

function heartbeatState(s: ManagedStatus['state']): 'idle' | 'busy' | 'draining' | 'suspended' | 'stopping' {
  return s === 'stopped' ? 'stopping' : s;
}

/** True when dotted version `a` < `b` (numeric parts only). */
export function versionLess(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}
