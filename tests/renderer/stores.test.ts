import { describe, expect, it } from 'vitest';
import { createLogsStore } from '../../src/renderer/src/stores/logs-store.js';
import { createSettingsStore } from '../../src/renderer/src/stores/settings-store.js';
import { createSnapshotsStore } from '../../src/renderer/src/stores/snapshots-store.js';
import { createStatusStore } from '../../src/renderer/src/stores/status-store.js';
import type { LogEntry, LogLevel } from '../../src/shared/model/log.js';
import { fakeAgentApi } from '../main/fake-agent-api.js';
import { idleStatus, runRecord, running } from '../main/status-fixtures.js';

const entry = (seq: number, level: LogLevel = 'info', runId?: string): LogEntry => ({
  seq,
  time: '2026-01-01T00:00:00.000Z',
  level,
  message: `line ${seq}`,
  ...(runId ? { runId } : {}),
});

describe('logs store', () => {
  it('keeps a capped buffer, filters by level and run, ignores duplicates', () => {
    const store = createLogsStore(fakeAgentApi(), 5);
    const s = () => store.getState();
    s().append([entry(1, 'debug'), entry(2, 'info', 'run-a'), entry(3, 'error', 'run-b')]);
    expect(s().visible.map((e) => e.seq)).toEqual([2, 3]); // default: info and above
    s().append([entry(3), entry(2)]);
    expect(s().visible).toHaveLength(2);
    expect(s().runIds).toEqual(['run-b', 'run-a']);
    s().setMinLevel('debug');
    expect(s().visible.map((e) => e.seq)).toEqual([1, 2, 3]);
    s().setRunId('run-a');
    expect(s().visible.map((e) => e.seq)).toEqual([2]);
    s().setRunId(null);
    s().append([entry(4), entry(5), entry(6), entry(7)]);
    expect(s().visible.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(s().asText().split('\n')[0]).toBe('2026-01-01T00:00:00.000Z ERROR [run-b] line 3');
  });

  it('appends 100,000 lines in 1,000-line batches quickly (no copying per batch)', () => {
    const store = createLogsStore(fakeAgentApi(), 100_000);
    const t0 = performance.now();
    for (let b = 0; b < 150; b++) store.getState().append(Array.from({ length: 1000 }, (_, i) => entry(b * 1000 + i + 1)));
    const ms = performance.now() - t0;
    expect(store.getState().visible).toHaveLength(100_000);
    expect(store.getState().visible[0]?.seq).toBe(50_001);
    expect(ms).toBeLessThan(1500);
  });

  it('loads the recent log from the API', async () => {
    const api = fakeAgentApi();
    api.getLogs.mockResolvedValueOnce([entry(1), entry(2)]);
    const store = createLogsStore(api);
    await store.getState().load();
    expect(api.getLogs).toHaveBeenCalledWith({ limit: 10_000 });
    expect(store.getState().visible).toHaveLength(2);
  });
});

describe('status store', () => {
  it('loads status and history, merges progress, takes a finished run from its event (no re-fetch)', async () => {
    const api = fakeAgentApi();
    const store = createStatusStore(api);
    await store.getState().load();
    expect(store.getState().status?.state).toBe('idle');
    store.getState().applyStatus(idleStatus({ state: 'running', running: [running('r', 10)] }));
    store.getState().applyProgress(running('r', 55));
    expect(store.getState().status?.running[0]?.progress?.percent).toBe(55);
    api.getHistory.mockClear();
    store.getState().applyStatus(idleStatus());
    store.getState().applyRunFinished(runRecord({ id: 'r', outcome: 'partial' }));
    store.getState().applyRunFinished(runRecord({ id: 'r', outcome: 'partial' })); // delivered twice: kept once
    expect(store.getState().history[0]).toMatchObject({ id: 'r', outcome: 'partial' });
    expect(store.getState().history.filter((r) => r.id === 'r')).toHaveLength(1);
    expect(api.getHistory).not.toHaveBeenCalled();
  });

  it('turns failed actions into a readable error', async () => {
    const api = fakeAgentApi();
    api.backupNow.mockRejectedValueOnce(new Error('The repository is locked by another process'));
    const store = createStatusStore(api);
    await store.getState().backupNow('/a');
    expect(store.getState().error).toBe('The repository is locked by another process');
    expect(store.getState().busy).toBe(false);
    await store.getState().pause('2026-01-01T13:00:00.000Z');
    expect(api.pause).toHaveBeenCalledWith('2026-01-01T13:00:00.000Z');
    expect(store.getState().error).toBeNull();
  });
});

describe('settings store', () => {
  it('edits YAML fields, keeps comments, saves through saveConfig and shows errors by path', async () => {
    const api = fakeAgentApi();
    api.getConfig.mockResolvedValueOnce({ path: '/c.yaml', yaml: '# mine\nbackup:\n  sources:\n    - path: /a\n' });
    const store = createSettingsStore(api);
    await store.getState().load();
    expect(store.getState().getValue(['backup', 'sources', 0, 'path'])).toBe('/a');
    store.getState().setValue(['backup', 'sources', 0, 'exclude'], ['*.tmp']);
    store.getState().setValue(['policies', 'daily', 'throttle', 'limit_upload'], '2MiB/s');
    expect(store.getState().yaml).toContain('# mine');
    expect(store.getState().yaml).toContain('exclude:\n        - "*.tmp"');
    expect(store.getState().dirty).toBe(true);
    api.saveConfig.mockResolvedValueOnce({ ok: false, errors: [{ path: 'policies.daily.throttle.limit_upload', message: 'expected a rate' }] });
    expect(await store.getState().save()).toBe(false);
    expect(store.getState().errors[0]?.path).toBe('policies.daily.throttle.limit_upload');
    store.getState().setValue(['policies', 'daily', 'throttle', 'limit_upload'], '');
    expect(store.getState().getValue(['policies', 'daily', 'throttle', 'limit_upload'])).toBeUndefined();
    expect(await store.getState().save()).toBe(true);
    expect(api.saveConfig).toHaveBeenLastCalledWith(store.getState().yaml);
  });

  it('desktop settings go through setSettings', async () => {
    const api = fakeAgentApi();
    const store = createSettingsStore(api);
    await store.getState().setDesktop({ notifyOnSuccess: true });
    expect(api.setSettings).toHaveBeenCalledWith({ notifyOnSuccess: true });
  });
});

describe('snapshots store', () => {
  it('lists newest first and restores into a folder; an empty target is explained', async () => {
    const api = fakeAgentApi();
    const snap = (id: string, time: string) => ({ id, shortId: id.slice(0, 8), time, hostname: 'h', paths: ['/a'], tags: [], sizeBytes: null });
    api.listSnapshots.mockResolvedValueOnce([snap('aaaaaaaa11', '2026-01-01T00:00:00Z'), snap('bbbbbbbb22', '2026-01-02T00:00:00Z')]);
    const store = createSnapshotsStore(api);
    await store.getState().load('default');
    expect(store.getState().snapshots.map((s) => s.id)).toEqual(['bbbbbbbb22', 'aaaaaaaa11']);
    await store.getState().restore({ snapshotId: 'bbbbbbbb22', include: '', target: ' ' });
    expect(store.getState().error).toBe('Choose the folder to restore into.');
    api.restore.mockResolvedValueOnce({ runId: 'rr' });
    await store.getState().restore({ snapshotId: 'bbbbbbbb22', include: ' /a/x ', target: '/tmp/out' });
    expect(api.restore).toHaveBeenCalledWith({ repository: 'default', snapshotId: 'bbbbbbbb22', include: '/a/x', target: '/tmp/out', into: null });
    expect(store.getState().restoreRunId).toBe('rr');
    api.listSnapshots.mockRejectedValueOnce(new Error('wrong password'));
    await store.getState().load('default');
    expect(store.getState().error).toBe('wrong password');
  });
});
