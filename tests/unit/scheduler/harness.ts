import type { RunOutcome } from '../../../src/shared/model/run.js';
import { FakeProbes } from '../../fakes/fake-probes.js';
import type { PolicyConfig, Schedule } from '../../../src/main/core/config/types.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import type { Job, SchedulerEvents } from '../../../src/main/core/scheduler/events.js';
import type { AgentAlert } from '../../../src/shared/model/alert.js';
import type { SchedulerConfig } from '../../../src/main/core/scheduler/job-defs.js';
import { Scheduler, type SchedulerOptions } from '../../../src/main/core/scheduler/scheduler.js';
import { AgentStateStore } from '../../../src/main/core/state/agent-state.js';
import { openStateDb, type StateDb } from '../../../src/main/core/state/db.js';
import { stateMigrations } from '../../../src/main/core/state/migrations.js';
import { NO_HOOKS } from '../../../src/main/core/config/normalise.js';

export const MIN = 60_000;
export const HOUR = 60 * MIN;

/** Lets promise chains (runner → queue → finish) settle. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

export function policy(over: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    name: 'hourly',
    schedule: { kind: 'cron', expression: '0 * * * *', timezone: 'UTC' },
    jitterMs: 0,
    retention: { keepDaily: 7 },
    prune: 'maintenance',
    conditions: { acPowerOnly: false, notOnMetered: false, minFreeCacheBytes: 0, requireRepositoryReachable: false, deadlineMs: 0 },
    retry: { maxAttempts: 1, initialDelayMs: MIN, maxDelayMs: 10 * MIN },
    throttle: { limitUploadKiBs: 0, limitDownloadKiBs: 0, lowPriority: false, readConcurrency: 0 },
    staleAfterMs: 0,
    ...over,
  };
}

export function config(p: PolicyConfig = policy(), check: Schedule | null = null): SchedulerConfig {
  return {
    agent: { id: 'agent-1', catchUpDelayMs: MIN },
    restic: { cacheDir: '/tmp' },
    pause: { defaultMs: HOUR },
    repositories: {
      nas: {
        name: 'nas',
        url: '/srv/restic',
        password: { kind: 'file', path: '/etc/pw' },
        env: {},
        secretEnv: [],
        check: check
          ? {
              schedule: check,
              jitterMs: 0,
              readDataSubset: '5%',
              readDataCycle: 0,
              conditions: { acPowerOnly: false, notOnMetered: false, minFreeCacheBytes: 0, requireRepositoryReachable: false, deadlineMs: 0 },
            }
          : null,
        prune: null,
      },
    },
    sources: [{ path: '/home/me', policy: p.name, repository: 'nas', exclude: [], tags: [], plugin: null, hooks: NO_HOOKS }],
    policies: { [p.name]: p },
  };
}

/** A scheduler on a fake clock, fake probes and a recording runner whose outcomes the test scripts. */
export class Harness {
  readonly jobs: Array<Job & { at: string }> = [];
  readonly alerts: AgentAlert[] = [];
  readonly blocked: Array<SchedulerEvents['condition-blocked']> = [];
  readonly finished: Array<SchedulerEvents['job-finished']> = [];
  outcomes: Array<{ outcome: RunOutcome; message: string }> = [];
  fallback: { outcome: RunOutcome; message: string } = { outcome: 'success', message: 'snapshot saved' };
  scheduler!: Scheduler;
  readonly probes = new FakeProbes();

  constructor(
    readonly clock: FakeClock,
    readonly db: StateDb = openStateDb(':memory:', stateMigrations),
  ) {}

  static at(iso: string): Harness {
    return new Harness(new FakeClock(iso));
  }

  /** A fresh Scheduler on the same DB and clock (an agent restart). */
  create(cfg: SchedulerConfig, extra: Partial<SchedulerOptions> = {}): Scheduler {
    this.scheduler = new Scheduler({
      config: cfg,
      state: new AgentStateStore(this.db),
      clock: this.clock,
      probes: this.probes,
      runner: (job) => {
        this.jobs.push({ ...job, at: new Date(this.clock.now()).toISOString() });
        return Promise.resolve(this.outcomes.shift() ?? this.fallback);
      },
      ...extra,
    });
    this.scheduler.on('alert', (a) => this.alerts.push(a));
    this.scheduler.on('condition-blocked', (b) => this.blocked.push(b));
    this.scheduler.on('job-finished', (f) => this.finished.push(f));
    return this.scheduler;
  }

  /** Advances time in steps (so chained timers fire) and lets runs settle. */
  async advance(ms: number, step = MIN): Promise<void> {
    let left = ms;
    while (left > 0) {
      const d = Math.min(step, left);
      this.clock.advance(d);
      left -= d;
      await flush();
    }
  }

  async advanceTo(iso: string): Promise<void> {
    await this.advance(Date.parse(iso) - this.clock.now());
  }

  now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
