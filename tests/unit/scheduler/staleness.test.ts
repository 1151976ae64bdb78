import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../fakes/fake-clock.js';
import type { AgentAlert } from '../../../src/shared/model/alert.js';
import { StalenessWatchdog, type WatchedSource } from '../../../src/main/core/scheduler/staleness.js';
import { AgentStateStore } from '../../../src/main/core/state/agent-state.js';
import { openStateDb } from '../../../src/main/core/state/db.js';
import { stateMigrations } from '../../../src/main/core/state/migrations.js';
import { flush, HOUR } from './harness.js';

describe('StalenessWatchdog', () => {
  const sources: WatchedSource[] = [
    { repository: 'nas', source: '/home/me', staleAfterMs: 24 * HOUR },
    { repository: 'nas', source: '/etc', staleAfterMs: 0 },
  ];

  function setup() {
    const clock = new FakeClock('2024-03-10T12:00:00Z');
    const db = openStateDb(':memory:', stateMigrations);
    const snapshots = new Map<string, Date | null>([['/home/me', new Date('2024-03-10T02:00:00Z')]]);
    let broken: string | null = null;
    const reader = (_repo: string, source: string) => (broken ? Promise.reject(new Error(broken)) : Promise.resolve(snapshots.get(source) ?? null));
    const make = () => {
      const w = new StalenessWatchdog(reader, new AgentStateStore(db), sources, clock);
      const alerts: AgentAlert[] = [];
      w.on('alert', (a) => alerts.push(a));
      return { w, alerts };
    };
    return { clock, snapshots, make, breakWith: (m: string | null) => (broken = m) };
  }

  it('alerts once when a source becomes stale and once when it recovers, also across restarts', async () => {
    const { clock, snapshots, make } = setup();
    let { w, alerts } = make();
    const first = await w.check();
    expect(first[0]).toMatchObject({ source: '/home/me', ageMs: 10 * HOUR, stale: false, newestSnapshotAt: '2024-03-10T02:00:00.000Z' });
    expect(first[1]).toMatchObject({ source: '/etc', ageMs: null, stale: false }); // staleAfter 0: never alerts
    clock.advance(20 * HOUR);
    await w.check();
    await w.check();
    expect(alerts.map((a) => a.kind)).toEqual(['stale']);
    expect(alerts[0]?.message).toMatch(/\/home\/me has no recent backup in "nas": newest snapshot is 1 d 6 h old/);
    ({ w, alerts } = make()); // restart: the flag is persisted
    await w.check();
    expect(alerts).toEqual([]);
    snapshots.set('/home/me', new Date(clock.now() - HOUR)); // a backup made elsewhere counts
    await w.check();
    await w.check();
    expect(alerts.map((a) => [a.kind, a.severity])).toEqual([['fresh-again', 'info']]);
  });

  it('alerts once when the repository cannot be opened, and again only after it recovered and failed again', async () => {
    const { make, breakWith } = setup();
    const { w, alerts } = make();
    breakWith('Fatal: unable to open config file: 403 Forbidden');
    const r = await w.check();
    expect(r.every((s) => s.repositoryError?.includes('403'))).toBe(true);
    await w.check();
    expect(alerts.map((a) => a.kind)).toEqual(['repository-unreachable']);
    breakWith(null);
    await w.check();
    breakWith('Fatal: unable to open config file: 403 Forbidden');
    await w.check();
    expect(alerts.map((a) => a.kind)).toEqual(['repository-unreachable', 'repository-unreachable']);
  });

  it('a source without any snapshot becomes stale only after being watched for stale_after', async () => {
    const { clock, snapshots, make } = setup();
    snapshots.set('/home/me', null);
    const { w, alerts } = make();
    await w.check();
    expect(alerts).toEqual([]);
    clock.advance(25 * HOUR);
    await w.check();
    expect(alerts.map((a) => a.kind)).toEqual(['stale']);
    expect(alerts[0]?.message).toMatch(/no snapshot yet/);
  });

  it('start() checks now and on an interval', async () => {
    const { clock, make } = setup();
    const { w } = make();
    w.start(HOUR);
    await flush();
    expect(w.last()).toHaveLength(2);
    expect(clock.pendingTimers()).toBe(1);
    w.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
