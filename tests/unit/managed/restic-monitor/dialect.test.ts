import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/main/core/log/logger.js';
import { registerSecret } from '../../../../src/main/core/log/redact.js';
import { buildResult, decideIngest } from '../../../../src/main/core/managed/restic-monitor/rules.js';
import { ingestTasks } from '../../../../src/main/core/managed/restic-monitor/ingest.js';
import { RmStore, rmMigrations, type RmTaskRow } from '../../../../src/main/core/managed/restic-monitor/store.js';
import { openStateDb } from '../../../../src/main/core/state/db.js';

const T = { id: '7d1f0c52-1111-4222-8333-444455556666', policyId: '0a1b2c3d-1111-4222-8333-444455556666', type: 'backup' as const };

function row(state: RmTaskRow['state'], attempt: number, resultStatus: RmTaskRow['resultStatus'] = null): RmTaskRow {
  return {
    taskId: T.id,
    attempt,
    policyId: T.policyId,
    taskType: 'backup',
    task: null,
    state,
    notBefore: null,
    acked: false,
    claimedAt: 0,
    startedAt: null,
    finishedAt: null,
    resultStatus,
    snapshotId: null,
    message: null,
  };
}

describe('decideIngest (dedupe)', () => {
  it('runs unseen tasks and ignores copies of held ones', () => {
    expect(decideIngest(null, 0).kind).toBe('run');
    expect(decideIngest(row('claimed', 0), 0).kind).toBe('duplicate');
    expect(decideIngest(row('running', 0), 0).kind).toBe('duplicate');
    expect(decideIngest(row('reported', 0, 'success'), 0).kind).toBe('duplicate');
    expect(decideIngest(row('dropped', 0), 0).kind).toBe('run');
  });
  it('runs a genuine retry after a failure, re-reports a finished task handed out again', () => {
    expect(decideIngest(row('delivered', 0, 'failed'), 1)).toEqual({ kind: 'run', supersedeOlder: false });
    expect(decideIngest(row('reported', 0, 'failed'), 1)).toEqual({ kind: 'run', supersedeOlder: true });
    expect(decideIngest(row('delivered', 0, 'success'), 0).kind).toBe('rereport');
    expect(decideIngest(row('delivered', 1, 'success'), 2).kind).toBe('rereport');
  });
});

describe('buildResult', () => {
  const ok = { outcome: 'success' as const, exitCode: 0, message: 'ok', snapshotId: 'abcd1234', stats: null };
  it('spells statuses as the server expects, integer duration, policyId always', () => {
    const r = buildResult(T, ok, 12_600, 'log text');
    expect(r).toEqual({
      taskId: T.id,
      policyId: T.policyId,
      taskType: 'backup',
      status: 'success',
      durationSeconds: 13,
      log: 'log text',
      snapshotId: 'abcd1234',
    });
    const f = buildResult(T, { ...ok, outcome: 'failed', exitCode: 1, snapshotId: null, message: 'Fatal: boom' }, 400, '');
    expect(f).toMatchObject({ status: 'failed', durationSeconds: 0, errorMessage: 'Fatal: boom', policyId: T.policyId });
    expect(f).not.toHaveProperty('log');
  });
  it('maps a partial backup to success and steers retryability with prefixes', () => {
    expect(buildResult(T, { ...ok, outcome: 'partial', exitCode: 3, message: '2 files unreadable' }, 0, '')).toMatchObject({
      status: 'success',
      errorMessage: 'partial: 2 files unreadable',
    });
    expect(buildResult(T, { ...ok, outcome: 'wrong-password', message: 'Wrong repository password' }, 0, '').errorMessage).toMatch(/^authentication failed/);
    expect(buildResult(T, { ...ok, outcome: 'no-repo', message: 'Repository not found' }, 0, '').errorMessage).toMatch(/^invalid repository/);
    expect(buildResult(T, { ...ok, outcome: 'locked', message: 'locked' }, 0, '').errorMessage).toMatch(/temporarily unavailable/);
  });
  it('redacts secrets from the error message', () => {
    registerSecret('hunter2-secret');
    expect(buildResult(T, { ...ok, outcome: 'failed', message: 'pw hunter2-secret leaked' }, 0, '').errorMessage).toBe('pw *** leaked');
  });
});

describe('ingestTasks', () => {
  const wire = (id: string, over: Record<string, unknown> = {}) => ({
    id,
    policy_id: T.policyId,
    task_type: 'check',
    repository: '/srv/r',
    retry_count: 0,
    max_retries: 3,
    created_at: '2025-01-01T00:00:00Z',
    ...over,
  });
  const id2 = '8d1f0c52-1111-4222-8333-444455556666';

  it('stores new tasks once, even when handed out twice in one response', () => {
    const store = new RmStore(openStateDb(':memory:', rmMigrations));
    const s = ingestTasks(store, [wire(T.id), wire(T.id), wire(id2)], 1000, silentLogger);
    expect(s).toEqual({ claimed: 2, duplicates: 1, rereported: 0, rejected: 0 });
    expect(
      store
        .claimed()
        .map((r) => r.taskId)
        .sort(),
    ).toEqual([T.id, id2].sort());
  });

  it('reports invalid tasks as failed right away (outbox), once', () => {
    const store = new RmStore(openStateDb(':memory:', rmMigrations));
    ingestTasks(store, [wire(T.id, { task_type: 'forget' })], 1000, silentLogger);
    ingestTasks(store, [wire(T.id, { task_type: 'forget' })], 2000, silentLogger);
    const out = store.outboxDue(5000);
    expect(out).toHaveLength(1);
    expect(out[0]?.body).toMatchObject({ taskId: T.id, policyId: T.policyId, status: 'failed', taskType: 'forget' });
    expect(out[0]?.body.errorMessage).toMatch(/not supported/);
  });

  it('re-reports a delivered success instead of running it again; runs a retry after a delivered failure', () => {
    const store = new RmStore(openStateDb(':memory:', rmMigrations));
    ingestTasks(store, [wire(T.id)], 1000, silentLogger);
    store.finish(
      { taskId: T.id, attempt: 0, policyId: T.policyId, taskType: 'check' },
      { taskId: T.id, policyId: T.policyId, taskType: 'check', status: 'success', durationSeconds: 1 },
      2000,
    );
    const first = store.outboxDue(3000)[0];
    if (!first) throw new Error('no outbox row');
    store.delivered(first.id, T.id, 0);
    expect(ingestTasks(store, [wire(T.id)], 4000, silentLogger).rereported).toBe(1);
    expect(store.claimed()).toHaveLength(0);
    expect(store.outboxDue(5000)[0]?.body.status).toBe('success');

    store.finish(
      { taskId: id2, attempt: 0, policyId: T.policyId, taskType: 'check' },
      { taskId: id2, policyId: T.policyId, taskType: 'check', status: 'failed', durationSeconds: 1, errorMessage: 'x' },
      6000,
    );
    // The result's 200 was lost, yet the server applied it and hands out attempt 1: the queued copy is dropped.
    expect(ingestTasks(store, [wire(id2, { retry_count: 1 })], 7000, silentLogger).claimed).toBe(1);
    expect(store.outboxDue(8000).filter((r) => r.taskId === id2)).toHaveLength(0);
    expect(store.task(id2)).toMatchObject({ state: 'claimed', attempt: 1 });
  });
});
