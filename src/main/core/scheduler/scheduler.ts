import { randomUUID } from 'node:crypto';
import type { RunOutcome } from '../../../shared/model/run.js';
import { evaluateConditions } from '../conditions/evaluate.js';
import { type PlatformProbes, unknownProbes } from '../conditions/probes.js';
import type { Logger } from '../log/logger.js';
import type { AgentStateStore } from '../state/agent-state.js';
import { type Clock, type ClockMark, driftSince, markClock, systemClock, type TimerHandle } from '../time/clock.js';
import type { Job, JobRunner, SchedulerEvents } from './events.js';
import type { AgentAlert } from '../../../shared/model/alert.js';
import { TypedEmitter } from './events.js';
import { defaultResticCacheDir, type JobDef, jobsFromConfig, planSignature, type SchedulerConfig } from './job-defs.js';
import { catchUpPlan, initialPlan, type Plan, regularPlan, wakeAt } from './planning.js';
import { RepoQueue } from './repo-queue.js';
import { type ScheduleStatus, scheduleStatus } from './schedule-status.js';
import { afterRun } from './after-run.js';
import { deadlinePassed, recheckAt } from './deadline.js';
import { classifyOutcome } from './retry.js';
import { type JobState, SchedulerStateStore } from './schedule-state.js';

export interface SchedulerOptions {
  readonly config: SchedulerConfig;
  readonly state: AgentStateStore;
  readonly runner: JobRunner;
  readonly clock?: Clock;
  /** Shared with orchestrator tasks so nothing overlaps on a repository. */
  readonly queue?: RepoQueue;
  readonly probes?: PlatformProbes;
  /** For `require_repository_reachable`; null = unknown (not blocking). */
  readonly repositoryReachable?: (repository: string) => Promise<boolean | null>;
  readonly logger?: Logger;
  /** How often a condition-blocked run looks again (default 5 min; `conditionsChanged()` looks at once). */
  readonly conditionRecheckMs?: number;
  /** Longest timer: bounds how late a wake from sleep is noticed (default 10 min, one wake-up, no work). */
  readonly maxTimerMs?: number;
  /** A due run found later than this (without sleep) is treated as missed → catch-up (default 2 min). */
  readonly lateToleranceMs?: number;
  /** Wall time running ahead of monotonic time by more than this means the machine slept (default 30 s). */
  readonly sleepThresholdMs?: number;
}

interface Active {
  readonly job: Job | null; // null while conditions are being checked
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, forRun: () => noopLogger };

/**
 * Runs backups and checks on their schedules, laptop-aware: one timer for the earliest due job, catch-up once
 * after sleep or downtime, pause, run conditions with a deadline, and retries only where they help.
 *
 * It never runs restic itself: each job goes through the `RepoQueue` to the injected `JobRunner`.
 */
export class Scheduler {
  readonly #events = new TypedEmitter<SchedulerEvents>();
  readonly #clock: Clock;
  readonly #store: SchedulerStateStore;
  readonly #runner: JobRunner;
  readonly #queue: RepoQueue;
  readonly #probes: PlatformProbes;
  readonly #log: Logger;
  readonly #opts: Required<Pick<SchedulerOptions, 'conditionRecheckMs' | 'maxTimerMs' | 'lateToleranceMs' | 'sleepThresholdMs'>>;
  readonly #reachable: SchedulerOptions['repositoryReachable'];
  #config: SchedulerConfig;
  #defs = new Map<string, JobDef>();
  readonly #plans = new Map<string, Plan>();
  readonly #active = new Map<string, Active>();
  #timer: TimerHandle | null = null;
  #armedAt: ClockMark | null = null;
  #started = false;
  #held = false;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#config = options.config;
    this.#clock = options.clock ?? systemClock;
    this.#store = new SchedulerStateStore(options.state);
    this.#runner = options.runner;
    this.#queue = options.queue ?? new RepoQueue({ now: () => this.#clock.now() });
    this.#probes = options.probes ?? unknownProbes;
    this.#reachable = options.repositoryReachable;
    this.#log = options.logger ?? noopLogger;
    this.#opts = {
      conditionRecheckMs: options.conditionRecheckMs ?? 5 * 60_000,
      maxTimerMs: options.maxTimerMs ?? 10 * 60_000,
      lateToleranceMs: options.lateToleranceMs ?? 2 * 60_000,
      sleepThresholdMs: options.sleepThresholdMs ?? 30_000,
    };
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SchedulerEvents>(event: K, listener: (payload: SchedulerEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Plans every schedule from durable state (catching up missed runs once) and arms the timer. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#load(this.#config, true);
    this.#tick(false);
  }

  /** Applies a new config without restart; unchanged schedules keep their plans (and pending retries). */
  reconfigure(config: SchedulerConfig): void {
    this.#config = config;
    if (this.#started && !this.#stopped) {
      this.#load(config, false);
      this.#tick(false);
    }
  }

  /** Stops the timer, aborts running jobs and waits for them to settle. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
    for (const a of this.#active.values()) a.controller.abort();
    await this.idle();
  }

  /** Holds (true) or lets go (false): while held no job starts; what came due runs after the hold, as a catch-up. */
  hold(on: boolean): void {
    if (this.#held === on) return;
    this.#held = on;
    if (!on) this.#tick(false);
  }

  /** Resolves when no job is running or being checked. */
  async idle(): Promise<void> {
    while (this.#active.size > 0) await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  /** Wall ms until which schedules are paused, or null. */
  pausedUntil(): number | null {
    return this.#store.pausedUntil();
  }

  /**
   * Pauses scheduled runs until `until` (wall ms; null = the config's default duration). Runs already going
   * continue; manual runs still start. Survives restarts.
   */
  pause(until: number | null = null): number {
    const end = until ?? this.#clock.now() + this.#config.pause.defaultMs;
    if (!Number.isFinite(end)) throw new Error('pause: the end time is not a valid date; give an ISO time or leave it empty for pause.default');
    this.#store.setPause(end);
    this.#log.info('schedules paused', { until: new Date(end).toISOString() });
    this.#changed();
    this.#arm();
    return end;
  }

  /** Ends a pause; each schedule that came due meanwhile runs once, after the catch-up delay. */
  resume(): void {
    if (this.#store.pausedUntil() === null) return;
    this.#store.setPause(null);
    const now = this.#clock.now();
    for (const [key, p] of this.#plans) {
      if (p.dueAt <= now && !this.#active.has(key)) this.#setPlan(key, catchUpPlan(now, this.#catchUpDelay(), p.attempt));
    }
    this.#log.info('schedules resumed');
    this.#changed();
    this.#tick(false);
  }

  /**
   * Call when the OS reports a wake from sleep or a screen unlock (Electron powerMonitor): re-plans at once.
   * Missed runs are caught up only when the clocks show the machine really slept.
   */
  wake(): void {
    this.#tick(this.#sleptSinceArm());
  }

  /** Call when power or network changed: condition-blocked runs look again now. */
  conditionsChanged(): void {
    const now = this.#clock.now();
    for (const [key, p] of this.#plans) if (p.recheckAt !== null) this.#plans.set(key, { ...p, recheckAt: now });
    this.#tick(false);
  }

  /** Starts backups now (one source, or all), ignoring schedule, conditions and pause. */
  backupNow(source: string | null = null): Job[] {
    const defs = [...this.#defs.values()].filter((d) => d.kind === 'backup' && (source === null || d.source === source));
    if (source !== null && defs.length === 0) throw new Error(`no source "${source}" in the configuration`);
    return defs.map((d) => this.#runManual(d));
  }

  /** Starts checks now (one repository, or all with a `check` schedule), ignoring schedule and pause. */
  checkNow(repository: string | null = null): Job[] {
    const defs = [...this.#defs.values()].filter((d) => d.kind === 'check' && (repository === null || d.repository === repository));
    if (repository !== null && defs.length === 0) throw new Error(`repository "${repository}" has no check configured`);
    return defs.map((d) => this.#runManual(d));
  }

  /** Aborts one job by id (queued or running), or all when null. Returns how many were aborted. */
  cancel(jobId: string | null): number {
    let n = 0;
    for (const a of this.#active.values()) {
      if (jobId === null || a.job?.id === jobId) {
        a.controller.abort();
        n++;
      }
    }
    return n;
  }

  /** Every schedule with its next and last run. */
  nextRuns(): ScheduleStatus[] {
    const now = this.#clock.now();
    const defs = this.#started ? [...this.#defs.values()] : jobsFromConfig(this.#config);
    return defs.map((d) => {
      const st = this.#store.load(d.key, now);
      // Not started (a one-shot `restic-agent status`): show what a start would plan.
      const p = this.#plans.get(d.key) ?? (this.#started ? null : initialPlan(d, st, now, this.#config.agent.id, this.#catchUpDelay()));
      return scheduleStatus(d, st, p, (this.#active.get(d.key)?.job ?? null) !== null);
    });
  }

  // ── planning ────────────────────────────────────────────────────────────────

  #catchUpDelay(): number {
    return this.#config.agent.catchUpDelayMs;
  }

  #load(config: SchedulerConfig, fresh: boolean): void {
    const old = this.#defs;
    const now = this.#clock.now();
    this.#defs = new Map(jobsFromConfig(config).map((d) => [d.key, d]));
    for (const key of this.#plans.keys()) if (!this.#defs.has(key)) this.#plans.delete(key);
    for (const def of this.#defs.values()) {
      const prev = old.get(def.key);
      if (!fresh && prev && planSignature(prev) === planSignature(def) && this.#plans.has(def.key)) continue;
      try {
        const state = this.#store.load(def.key, now);
        const p = initialPlan(def, state, now, config.agent.id, this.#catchUpDelay());
        if (p) this.#setPlan(def.key, p);
        else this.#plans.delete(def.key);
      } catch (e) {
        this.#plans.delete(def.key);
        this.#log.error(`schedule of ${def.key} is invalid: ${String(e)}`);
      }
    }
    this.#changed();
  }

  #setPlan(key: string, p: Plan | null): void {
    if (p) this.#plans.set(key, p);
    else this.#plans.delete(key);
    const next = p ? new Date(wakeAt(p)).toISOString() : null;
    this.#store.update(key, this.#clock.now(), () => ({ nextRunAt: next }));
  }

  #regular(def: JobDef, state: JobState): Plan | null {
    return regularPlan(def, state, this.#clock.now(), this.#config.agent.id, this.#catchUpDelay());
  }

  #changed(): void {
    this.#events.emit('plan-changed', { at: new Date(this.#clock.now()).toISOString() });
  }

  /** Arms the one timer for the earliest thing that needs attention (bounded by `maxTimerMs`). */
  #arm(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#stopped || !this.#started) return;
    const now = this.#clock.now();
    const paused = this.#store.pausedUntil();
    let earliest: number | null = paused;
    if (paused === null) {
      for (const [key, p] of this.#plans) {
        if (this.#active.has(key)) continue;
        const t = wakeAt(p);
        if (earliest === null || t < earliest) earliest = t;
      }
    }
    if (earliest === null && this.#plans.size === 0) return; // nothing scheduled: no timer at all
    const delay = earliest === null ? this.#opts.maxTimerMs : Math.min(Math.max(0, earliest - now), this.#opts.maxTimerMs);
    this.#armedAt = markClock(this.#clock);
    const handle = this.#clock.setTimer(delay, () => {
      if (this.#timer !== handle) return; // a superseded timer (or a second fire of the same one)
      this.#timer = null;
      this.#tick(this.#sleptSinceArm());
    });
    this.#timer = handle;
  }

  /** Wall time ran ahead of monotonic time since the timer was armed: the machine was suspended. */
  #sleptSinceArm(): boolean {
    return this.#armedAt !== null && driftSince(this.#armedAt, this.#clock) > this.#opts.sleepThresholdMs;
  }

  /** Looks at every plan: starts what is due, turns what was missed into one catch-up, re-arms. */
  #tick(woke: boolean): void {
    if (this.#stopped || !this.#started || this.#held) return;
    const now = this.#clock.now();
    if (woke) this.#log.info('wake from sleep detected; re-planning');
    const paused = this.#store.pausedUntil();
    if (paused !== null) {
      if (paused > now) return this.#arm();
      this.resume(); // the pause ran out (resume re-enters #tick)
      return;
    }
    for (const [key, p] of [...this.#plans]) {
      const def = this.#defs.get(key);
      if (!def || this.#active.has(key)) continue;
      if (p.dueAt > now) {
        // Not due: after sleep re-derive regular plans (time zone or clock may have changed meanwhile).
        if (woke && p.trigger === 'schedule' && def.schedule.kind === 'cron') this.#setPlan(key, this.#regular(def, this.#store.load(key, now)));
        continue;
      }
      if (p.recheckAt !== null && p.recheckAt > now) continue;
      const late = now - p.dueAt > this.#opts.lateToleranceMs;
      if (p.trigger !== 'catch-up' && p.recheckAt === null && (woke || late)) {
        this.#log.info(`missed run of ${key}; catching up once`);
        this.#setPlan(key, catchUpPlan(now, this.#catchUpDelay(), p.attempt));
        this.#changed();
        continue;
      }
      this.#startScheduled(def, p);
    }
    this.#arm();
  }

  // ── running ────────────────────────────────────────────────────────────────

  #newJob(def: JobDef, trigger: Job['trigger'], attempt: number, relaxed: boolean): Job {
    return {
      id: randomUUID(),
      kind: def.kind,
      repository: def.repository,
      source: def.source,
      policy: def.policy?.name ?? null,
      trigger,
      attempt,
      retention: def.kind === 'backup' && def.policy?.retention ? { due: true, prune: def.policy.prune === 'after_backup' } : null,
      readDataSubset: def.readDataCycle > 0 ? rotatingSubset(this.#store.load(def.key, this.#clock.now()).successes, def.readDataCycle) : def.readDataSubset,
      maxUnused: def.maxUnused,
      maxRepackSize: def.maxRepackSize,
      conditionsRelaxed: relaxed,
    };
  }

  #runManual(def: JobDef): Job {
    const active = this.#active.get(def.key);
    if (active?.job) return active.job; // already running: "run now" joins it rather than queueing a duplicate
    active?.controller.abort(); // a scheduled start still checking conditions is superseded
    const job = this.#newJob(def, 'manual', 1, false);
    this.#launch(def, job);
    return job;
  }

  /** Checks conditions (with the deadline), then launches; the job counts as active meanwhile. */
  #startScheduled(def: JobDef, p: Plan): void {
    const controller = new AbortController();
    let settle: () => void = () => {};
    const done = new Promise<void>((resolve) => (settle = resolve));
    const mine = (): boolean => this.#active.get(def.key)?.controller === controller;
    this.#active.set(def.key, { job: null, controller, done });
    const check = async (): Promise<void> => {
      const now = this.#clock.now();
      let relaxed = false;
      if (def.conditions) {
        const reachable = this.#reachable;
        const result = await evaluateConditions(def.conditions, {
          probes: this.#probes,
          cachePath: this.#config.restic.cacheDir ?? defaultResticCacheDir(),
          ...(reachable ? { repositoryReachable: () => reachable(def.repository) } : {}),
        });
        if (!mine() || controller.signal.aborted || this.#stopped) return;
        if (!result.ok) {
          relaxed = this.#deadlinePassed(def, now, result.reasons);
          if (!relaxed) return this.#block(def, p, result.reasons, now);
        }
      }
      if (!mine() || this.#stopped || this.#held || this.#store.pausedUntil() !== null) return;
      this.#active.delete(def.key);
      this.#launch(def, this.#newJob(def, p.trigger, p.attempt, relaxed));
    };
    check()
      .catch((e: unknown) => this.#log.error(`could not start ${def.key}: ${String(e)}`))
      .finally(() => {
        if (mine()) this.#active.delete(def.key);
        settle();
        this.#arm();
      });
  }

  #deadlinePassed(def: JobDef, now: number, reasons: ReadonlyArray<string>): boolean {
    const st = this.#store.load(def.key, now);
    if (!deadlinePassed(def, st, now)) return false;
    if (!st.deadlineAlerted) {
      this.#store.update(def.key, now, () => ({ deadlineAlerted: true }));
      this.#alert('deadline-relaxed', 'warning', def, `No successful backup for longer than the deadline; running despite: ${reasons.join('; ')}`);
    }
    return true;
  }

  #block(def: JobDef, p: Plan, reasons: ReadonlyArray<string>, now: number): void {
    const at = recheckAt(def, this.#store.load(def.key, now), now, this.#opts.conditionRecheckMs);
    this.#setPlan(def.key, { ...p, recheckAt: at, blockedBy: reasons });
    this.#events.emit('condition-blocked', {
      key: def.key,
      repository: def.repository,
      source: def.source,
      reasons,
      recheckAt: new Date(at).toISOString(),
    });
    this.#changed();
  }

  #launch(def: JobDef, job: Job): void {
    const controller = new AbortController();
    const startedAt = this.#clock.now();
    const st = this.#store.update(def.key, startedAt, () => ({ lastRunAt: new Date(startedAt).toISOString(), running: true }));
    // Plan the following occurrence now so status shows it; it cannot start while this job is active.
    this.#setPlan(def.key, this.#regular(def, st));
    this.#events.emit('job-started', { job, at: new Date(startedAt).toISOString() });
    this.#changed();
    const done = this.#queue
      .run(job.repository, job.kind, (signal) => this.#runner(job, signal), { signal: controller.signal, id: job.id, label: def.key })
      .catch((e: unknown): { outcome: RunOutcome; message: string } =>
        controller.signal.aborted ? { outcome: 'cancelled', message: 'cancelled before it started' } : { outcome: 'crash', message: String(e) },
      )
      .then((r) => this.#finish(def, job, r.outcome, r.message));
    this.#active.set(def.key, {
      job,
      controller,
      done: done.finally(() => {
        if (this.#active.get(def.key)?.job === job) this.#active.delete(def.key);
        this.#arm();
      }),
    });
  }

  #finish(def: JobDef, job: Job, outcome: RunOutcome, message: string): void {
    const now = this.#clock.now();
    const iso = new Date(now).toISOString();
    const ok = classifyOutcome(outcome, message) === 'ok';
    // Stopped mid-run (shutdown): keep `running` so the next start catches this run up once.
    const st = this.#store.update(def.key, now, (s) => ({
      running: this.#stopped && !ok ? s.running : false,
      lastOutcome: outcome,
      ...(ok ? { lastSuccessAt: iso, alerted: null, deadlineAlerted: false, successes: s.successes + 1 } : {}),
    }));
    const after = afterRun(def, job, outcome, message, this.#regular(def, st), now);
    if (after.alert) this.#alertOnce(def, st, after.alert.flag, after.alert.kind, after.alert.message);
    if (!this.#stopped) this.#setPlan(def.key, after.next);
    this.#log.info(`${def.key} finished: ${outcome}`, { attempt: job.attempt, trigger: job.trigger });
    const retryAt = after.retryAt === null ? null : new Date(after.retryAt).toISOString();
    this.#events.emit('job-finished', { job, outcome, message, retryAt, at: iso });
    this.#changed();
  }

  #alertOnce(def: JobDef, st: JobState, flag: string, kind: AgentAlert['kind'], message: string): void {
    if (st.alerted === flag) return;
    this.#store.update(def.key, this.#clock.now(), () => ({ alerted: flag }));
    this.#alert(kind, 'error', def, message);
  }

  #alert(kind: AgentAlert['kind'], severity: AgentAlert['severity'], def: JobDef, message: string): void {
    this.#events.emit('alert', {
      kind,
      severity,
      repository: def.repository,
      source: def.source,
      message,
      at: new Date(this.#clock.now()).toISOString(),
    });
  }
}

/** `n/N` for the next of a cycle of N checks: over N successful checks every part of the data is read once. */
export function rotatingSubset(successes: number, cycle: number): string {
  return `${(successes % cycle) + 1}/${cycle}`;
}
