import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/main/core/time/clock.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { config, flush, Harness, HOUR, MIN, policy } from './harness.js';

let open: Harness[] = [];
function harness(iso: string): Harness {
  const h = Harness.at(iso);
  open.push(h);
  return h;
}
afterEach(async () => {
  for (const h of open) await h.scheduler?.stop();
  open = [];
});

describe('Scheduler: regular runs', () => {
  it('runs an hourly cron backup on the hour with retention due, and keeps one timer', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    expect(h.scheduler.nextRuns()[0]?.nextRunAt).toBe('2024-03-01T01:00:00.000Z');
    expect(h.clock.pendingTimers()).toBe(1);
    await h.advanceTo('2024-03-01T02:30:00Z');
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([
      ['2024-03-01T01:00:00.000Z', 'schedule'],
      ['2024-03-01T02:00:00.000Z', 'schedule'],
    ]);
    expect(h.jobs[0]).toMatchObject({
      kind: 'backup',
      repository: 'nas',
      source: '/home/me',
      policy: 'hourly',
      attempt: 1,
      retention: { due: true, prune: false },
    });
    expect(h.clock.pendingTimers()).toBe(1);
    expect(h.scheduler.nextRuns()[0]).toMatchObject({
      nextRunAt: '2024-03-01T03:00:00.000Z',
      lastOutcome: 'success',
      lastSuccessAt: '2024-03-01T02:00:00.000Z',
    });
  });

  it('anchors `every` schedules to the last run; a first run starts after the catch-up delay', async () => {
    const h = harness('2024-03-01T00:00:00Z');
    h.create(config(policy({ name: 'six', schedule: { kind: 'every', intervalMs: 6 * HOUR } }))).start();
    await h.advance(13 * HOUR);
    expect(h.jobs.map((j) => j.at)).toEqual(['2024-03-01T00:01:00.000Z', '2024-03-01T06:01:00.000Z', '2024-03-01T12:01:00.000Z']);
  });

  it('schedules checks per repository with the read-data subset and no retention', async () => {
    const h = harness('2024-03-01T00:00:00Z');
    h.create(
      config(policy({ schedule: { kind: 'cron', expression: '0 0 1 1 *', timezone: 'UTC' } }), { kind: 'cron', expression: '0 3 * * 0', timezone: 'UTC' }),
    ).start();
    await h.advanceTo('2024-03-04T00:00:00Z');
    expect(h.jobs).toHaveLength(1);
    expect(h.jobs[0]).toMatchObject({ kind: 'check', repository: 'nas', source: null, readDataSubset: '5%', retention: null, at: '2024-03-03T03:00:00.000Z' });
  });

  it('has no timer at all when nothing is scheduled', () => {
    const h = harness('2024-03-01T00:00:00Z');
    h.create({ ...config(), sources: [] }).start();
    expect(h.clock.pendingTimers()).toBe(0);
  });
});

describe('Scheduler: catch-up', () => {
  it('after a simulated sleep (wall jumps, monotonic does not) the missed run starts once, after the delay', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    await h.advanceTo('2024-03-01T00:59:30Z');
    h.clock.sleep(5 * HOUR); // 01:00 … 05:00 pass while suspended
    await h.advance(40 * MIN, 10_000);
    // the timer (monotonic) fires 30 s after wake, at 06:00 wall time; the catch-up waits catchUpDelayMs
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([['2024-03-01T06:01:00.000Z', 'catch-up']]);
    expect(h.scheduler.nextRuns()[0]?.nextRunAt).toBe('2024-03-01T07:00:00.000Z');
    await h.advanceTo('2024-03-01T07:30:00Z');
    expect(h.jobs.map((j) => j.trigger)).toEqual(['catch-up', 'schedule']);
  });

  it('notices a sleep longer than the longest timer (wake watchdog) and via wake()', async () => {
    const h = harness('2024-03-01T00:00:00Z');
    h.create(config(policy({ schedule: { kind: 'cron', expression: '0 2 * * *', timezone: 'UTC' } }))).start();
    h.clock.sleep(3 * HOUR); // 02:00 passes asleep; the armed timer is at most 10 min of monotonic time
    await h.advance(12 * MIN);
    expect(h.jobs.map((j) => j.trigger)).toEqual(['catch-up']);
    h.scheduler.wake();
    h.scheduler.wake();
    await h.advance(5 * MIN);
    expect(h.jobs).toHaveLength(1);
  });

  it('a wake() without a sleep (screen unlock) keeps the regular plan: no catch-up, no delay', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    await h.advanceTo('2024-03-01T00:50:00Z');
    h.scheduler.wake();
    await h.advanceTo('2024-03-01T01:30:00Z');
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([['2024-03-01T01:00:00.000Z', 'schedule']]);
  });

  it('after a restart with missed runs catches up once; a second restart does not repeat it', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    await h.advanceTo('2024-03-01T01:30:00Z');
    await h.scheduler.stop();
    expect(h.jobs).toHaveLength(1);
    h.clock.sleep(4 * HOUR - 10 * MIN); // agent stopped until 05:20: 02:00 … 05:00 missed
    h.create(config()).start();
    expect(h.scheduler.nextRuns()[0]).toMatchObject({ nextRunAt: '2024-03-01T05:21:00.000Z', nextTrigger: 'catch-up' });
    await h.advance(2 * MIN);
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([
      ['2024-03-01T01:00:00.000Z', 'schedule'],
      ['2024-03-01T05:21:00.000Z', 'catch-up'],
    ]);
    await h.scheduler.stop();
    h.create(config()).start(); // restart again at 05:23
    expect(h.scheduler.nextRuns()[0]).toMatchObject({ nextRunAt: '2024-03-01T06:00:00.000Z', nextTrigger: 'schedule' });
    await h.advanceTo('2024-03-01T05:59:00Z');
    expect(h.jobs).toHaveLength(2);
  });

  it('a new schedule does not "catch up" occurrences from before it existed', () => {
    const h = harness('2024-03-01T05:30:00Z');
    h.create(config()).start();
    expect(h.scheduler.nextRuns()[0]).toMatchObject({ nextRunAt: '2024-03-01T06:00:00.000Z', nextTrigger: 'schedule' });
  });

  it('a run interrupted by the agent stopping is caught up once at the next start', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    let release: () => void = () => {};
    h.create(config(), {
      runner: (_job, signal) =>
        new Promise((resolve) => {
          release = () => resolve({ outcome: 'success', message: 'ok' });
          signal.addEventListener('abort', () => resolve({ outcome: 'cancelled', message: 'stopped' }));
        }),
    }).start();
    await h.advance(2 * MIN);
    expect(h.scheduler.nextRuns()[0]?.running).toBe(true);
    await h.scheduler.stop();
    release();
    h.create(config()).start();
    expect(h.scheduler.nextRuns()[0]).toMatchObject({ nextTrigger: 'catch-up', nextRunAt: '2024-03-01T01:02:00.000Z' });
  });

  it('no double run when the timer callback fires twice', async () => {
    const fake = new FakeClock('2024-03-01T00:59:00Z');
    const twice: Clock = {
      now: () => fake.now(),
      monotonic: () => fake.monotonic(),
      setTimer: (ms, fn) =>
        fake.setTimer(ms, () => {
          fn();
          fn();
        }),
    };
    const h = new Harness(fake);
    open.push(h);
    h.create(config(), { clock: twice }).start();
    await h.advance(3 * MIN);
    h.scheduler.wake(); // an OS wake notification on top
    await h.advance(3 * MIN);
    expect(h.jobs).toHaveLength(1);
  });

  it('a run still going when the next occurrence comes is not started twice', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    const gates: Array<() => void> = [];
    h.create(config(), {
      runner: (job) => {
        h.jobs.push({ ...job, at: h.now() });
        return new Promise((resolve) => gates.push(() => resolve({ outcome: 'success', message: 'ok' })));
      },
    }).start();
    await h.advance(90 * MIN); // the 01:00 run is still going at 02:00
    expect(h.jobs).toHaveLength(1);
    gates.shift()?.();
    await flush();
    expect(h.scheduler.nextRuns()[0]?.nextRunAt).toBe('2024-03-01T03:00:00.000Z');
  });
});

describe('Scheduler: run conditions and deadline', () => {
  it('blocks on battery, re-checks, and starts when conditionsChanged() reports AC', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    h.probes.ac = false;
    h.create(
      config(policy({ conditions: { acPowerOnly: true, notOnMetered: true, minFreeCacheBytes: 0, requireRepositoryReachable: false, deadlineMs: 0 } })),
    ).start();
    await h.advance(30 * MIN);
    expect(h.jobs).toHaveLength(0);
    expect(h.blocked.length).toBeGreaterThanOrEqual(2); // 01:00 and the 5-minute re-checks
    expect(h.blocked[0]?.reasons).toEqual(['on battery power (ac_power_only)']);
    expect(h.scheduler.nextRuns()[0]?.blockedBy).toEqual(['on battery power (ac_power_only)']);
    h.probes.ac = true;
    h.scheduler.conditionsChanged();
    await flush();
    expect(h.jobs.map((j) => [j.at, j.trigger, j.conditionsRelaxed])).toEqual([['2024-03-01T01:29:00.000Z', 'schedule', false]]);
  });

  it('after the deadline without a success, conditions relax and one alert says so', async () => {
    const h = harness('2024-03-01T00:00:00Z');
    h.probes.metered = true;
    const p = policy({ conditions: { acPowerOnly: false, notOnMetered: true, minFreeCacheBytes: 0, requireRepositoryReachable: false, deadlineMs: 6 * HOUR } });
    h.create(config(p)).start();
    await h.advanceTo('2024-03-01T05:59:00Z');
    expect(h.jobs).toHaveLength(0);
    await h.advanceTo('2024-03-01T06:30:00Z');
    expect(h.jobs.map((j) => [j.at, j.conditionsRelaxed])).toEqual([['2024-03-01T06:00:00.000Z', true]]);
    expect(h.alerts.map((a) => a.kind)).toEqual(['deadline-relaxed']);
    expect(h.alerts[0]?.message).toMatch(/metered/);
    // the success resets the deadline: blocked again until 12:00
    await h.advanceTo('2024-03-01T11:59:00Z');
    expect(h.jobs).toHaveLength(1);
    await h.advanceTo('2024-03-01T12:01:00Z');
    expect(h.jobs).toHaveLength(2);
  });

  it('probes the repository when required; an unreachable one blocks', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    let reachable: boolean | null = false;
    h.create(
      config(policy({ conditions: { acPowerOnly: false, notOnMetered: false, minFreeCacheBytes: 0, requireRepositoryReachable: true, deadlineMs: 0 } })),
      {
        repositoryReachable: (repo) => Promise.resolve(repo === 'nas' ? reachable : null),
      },
    ).start();
    await h.advance(3 * MIN);
    expect(h.jobs).toHaveLength(0);
    expect(h.blocked[0]?.reasons).toEqual(['repository not reachable (require_repository_reachable)']);
    reachable = true;
    await h.advance(5 * MIN);
    expect(h.jobs).toHaveLength(1);
  });

  it('manual runs ignore conditions', async () => {
    const h = harness('2024-03-01T00:10:00Z');
    h.probes.ac = false;
    h.create(
      config(policy({ conditions: { acPowerOnly: true, notOnMetered: false, minFreeCacheBytes: 0, requireRepositoryReachable: false, deadlineMs: 0 } })),
    ).start();
    const [job] = h.scheduler.backupNow('/home/me');
    await flush();
    expect(job?.trigger).toBe('manual');
    expect(h.jobs.map((j) => j.id)).toEqual([job?.id]);
    expect(() => h.scheduler.backupNow('/nope')).toThrow(/no source "\/nope"/);
  });
});

describe('Scheduler: pause', () => {
  it('a pause survives a restart; runs missed while paused catch up once when it ends', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    h.scheduler.pause(Date.parse('2024-03-01T03:00:00Z'));
    await h.advance(MIN);
    await h.scheduler.stop();
    h.create(config()).start();
    expect(h.scheduler.pausedUntil()).toBe(Date.parse('2024-03-01T03:00:00Z'));
    await h.advanceTo('2024-03-01T02:59:00Z');
    expect(h.jobs).toHaveLength(0);
    await h.advanceTo('2024-03-01T03:30:00Z');
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([['2024-03-01T03:01:00.000Z', 'catch-up']]);
    expect(h.scheduler.pausedUntil()).toBeNull();
    await h.advanceTo('2024-03-01T04:30:00Z');
    expect(h.jobs.map((j) => j.trigger)).toEqual(['catch-up', 'schedule']);
  });

  it('resume() catches up once; the default pause length comes from the config', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    const until = h.scheduler.pause(null);
    expect(until).toBe(Date.parse('2024-03-01T01:30:00Z'));
    h.scheduler.pause(Date.parse('2024-03-02T00:00:00Z'));
    await h.advanceTo('2024-03-01T04:10:00Z');
    expect(h.jobs).toHaveLength(0);
    h.scheduler.resume();
    await h.advance(5 * MIN);
    expect(h.jobs.map((j) => [j.at, j.trigger])).toEqual([['2024-03-01T04:11:00.000Z', 'catch-up']]);
  });

  it('manual runs start while paused and cover the runs missed so far', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    h.scheduler.pause(Date.parse('2024-03-02T00:00:00Z'));
    await h.advanceTo('2024-03-01T04:10:00Z');
    h.scheduler.backupNow(null);
    await flush();
    expect(h.jobs.map((j) => j.trigger)).toEqual(['manual']);
    h.scheduler.resume();
    await h.advanceTo('2024-03-01T04:59:00Z');
    expect(h.jobs).toHaveLength(1);
    await h.advanceTo('2024-03-01T05:01:00Z');
    expect(h.jobs.map((j) => j.trigger)).toEqual(['manual', 'schedule']);
  });
});

describe('Scheduler: retries', () => {
  const daily = (retry = { maxAttempts: 4, initialDelayMs: MIN, maxDelayMs: 3 * MIN }) =>
    config(policy({ name: 'daily', schedule: { kind: 'cron', expression: '0 2 * * *', timezone: 'UTC' }, retry }));

  it('locked retries with growing delays up to the cap, then gives up with one alert', async () => {
    const h = harness('2024-03-01T01:59:00Z');
    h.fallback = { outcome: 'locked', message: 'repository is already locked by PID 12 on nas' };
    h.create(daily()).start();
    await h.advance(20 * MIN);
    expect(h.jobs.map((j) => [j.at, j.trigger, j.attempt])).toEqual([
      ['2024-03-01T02:00:00.000Z', 'schedule', 1],
      ['2024-03-01T02:01:00.000Z', 'retry', 2],
      ['2024-03-01T02:03:00.000Z', 'retry', 3],
      ['2024-03-01T02:06:00.000Z', 'retry', 4], // 4 min capped to 3
    ]);
    expect(h.finished[0]?.retryAt).toBe('2024-03-01T02:01:00.000Z');
    expect(h.alerts.map((a) => a.kind)).toEqual(['retries-exhausted']);
    expect(h.scheduler.nextRuns()[0]?.nextRunAt).toBe('2024-03-02T02:00:00.000Z');
    await h.advanceTo('2024-03-02T02:30:00Z');
    expect(h.alerts).toHaveLength(1); // same failure again the next day: no new alert
  });

  it('wrong-password is never retried; the reason is reported once', async () => {
    const h = harness('2024-03-01T01:59:00Z');
    h.fallback = { outcome: 'wrong-password', message: 'Fatal: wrong password or no key found' };
    h.create(daily()).start();
    await h.advanceTo('2024-03-02T03:00:00Z');
    expect(h.jobs.map((j) => j.trigger)).toEqual(['schedule', 'schedule']);
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0]).toMatchObject({ kind: 'not-retryable', severity: 'error', source: '/home/me' });
    expect(h.alerts[0]?.message).toMatch(/password is wrong/);
  });

  it('a failure that looks like the network is retried, other failures are not; success clears the alert flag', async () => {
    const h = harness('2024-03-01T01:59:00Z');
    h.outcomes = [
      { outcome: 'failed', message: 'Fatal: unable to open repository: dial tcp 10.0.0.5:8000: connect: connection refused' },
      { outcome: 'success', message: 'ok' },
      { outcome: 'failed', message: 'Fatal: invalid exclude pattern' },
      { outcome: 'success', message: 'ok' },
      { outcome: 'failed', message: 'Fatal: invalid exclude pattern' },
    ];
    h.create(daily()).start();
    await h.advanceTo('2024-03-04T03:00:00Z');
    expect(h.jobs.map((j) => j.trigger)).toEqual(['schedule', 'retry', 'schedule', 'schedule', 'schedule']);
    expect(h.alerts.map((a) => a.kind)).toEqual(['not-retryable', 'not-retryable']);
  });

  it('a retry never pushes past the next regular run', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    h.fallback = { outcome: 'timeout', message: 'run timeout' };
    h.create(config(policy({ retry: { maxAttempts: 5, initialDelayMs: 2 * HOUR, maxDelayMs: 2 * HOUR } }))).start();
    await h.advance(2 * HOUR + 5 * MIN);
    expect(h.jobs.map((j) => [j.trigger, j.attempt])).toEqual([
      ['schedule', 1],
      ['schedule', 1],
      ['schedule', 1],
    ]);
  });
});

describe('Scheduler: cancel, events, reconfigure', () => {
  it('cancel aborts a running job and reports it as cancelled without retry', async () => {
    const h = harness('2024-03-01T00:59:00Z');
    h.create(config(policy({ retry: { maxAttempts: 3, initialDelayMs: MIN, maxDelayMs: MIN } })), {
      runner: (job, signal) =>
        new Promise((resolve) => {
          h.jobs.push({ ...job, at: h.now() });
          signal.addEventListener('abort', () => resolve({ outcome: 'cancelled', message: 'cancelled by user' }));
        }),
    }).start();
    await h.advance(2 * MIN);
    expect(h.scheduler.cancel(h.jobs[0]?.id ?? '')).toBe(1);
    await h.scheduler.idle();
    expect(h.finished.map((f) => [f.outcome, f.retryAt])).toEqual([['cancelled', null]]);
    await h.advance(20 * MIN);
    expect(h.jobs).toHaveLength(1);
  });

  it('reconfigure keeps unchanged plans and re-plans changed schedules', async () => {
    const h = harness('2024-03-01T00:30:00Z');
    h.create(config()).start();
    const events: string[] = [];
    h.scheduler.on('plan-changed', (e) => events.push(e.at));
    h.scheduler.reconfigure(config(policy({ schedule: { kind: 'cron', expression: '15 * * * *', timezone: 'UTC' } })));
    expect(h.scheduler.nextRuns()[0]?.nextRunAt).toBe('2024-03-01T01:15:00.000Z');
    expect(events.length).toBeGreaterThan(0);
    h.scheduler.reconfigure({ ...config(), sources: [] });
    expect(h.scheduler.nextRuns()).toEqual([]);
    expect(h.clock.pendingTimers()).toBe(0);
  });
});
