import { describe, expect, it } from 'vitest';
import { redact } from '../../../../src/main/core/log/redact.js';
import { mapOutcome, paramsWithoutSecrets, validateOffer } from '../../../../src/main/core/managed/v1/tasks.js';

const offer = (over: Record<string, unknown> = {}, params: Record<string, unknown> = { paths: ['/home/a'] }) => ({
  task_id: 'tsk_01',
  lease_id: 'lse_01',
  type: 'backup',
  attempt: 1,
  offer_expires_in_s: 60,
  lease_ttl_s: 120,
  repo: { repo_id: 'rep_1', url: 's3:https://s3/x', env: { AWS_SECRET_ACCESS_KEY: 'aws-secret-value-123' }, password: 'repo-password-xyz' },
  params,
  ...over,
});

describe('validateOffer', () => {
  it('accepts a backup, adds the task=<id> tag once and registers the credentials for redaction', () => {
    const v = validateOffer(offer({}, { paths: ['/home/a'], tags: ['plan:daily', 'task=tsk_01'] }));
    expect(v.kind).toBe('task');
    if (v.kind !== 'task') return;
    expect(v.task.params).toMatchObject({ type: 'backup', tags: ['plan:daily', 'task=tsk_01'] });
    expect(redact('pw=repo-password-xyz key aws-secret-value-123')).not.toMatch(/repo-password-xyz|aws-secret-value-123/);
    expect(paramsWithoutSecrets(v.task)).not.toMatch(/repo-password-xyz|aws-secret-value-123/);
  });

  it('accepts check, forget and prune params', () => {
    expect(validateOffer(offer({ type: 'check' }, { read_data_subset: '5%' })).kind).toBe('task');
    expect(validateOffer(offer({ type: 'forget' }, { keep: { daily: 7, within: '30d' }, group_by: 'host,paths' })).kind).toBe('task');
    expect(validateOffer(offer({ type: 'prune' }, { max_unused: '5%' })).kind).toBe('task');
  });

  it('carries reconcile_tag and pre on a retry', () => {
    const v = validateOffer(offer({ attempt: 2 }, { paths: ['/x'], reconcile_tag: 'task=tsk_01', pre: ['unlock'] }));
    expect(v.kind === 'task' && [v.task.reconcileTag, v.task.pre]).toEqual(['task=tsk_01', ['unlock']]);
  });

  it.each([
    [{ type: 'restore' }, {}, /unsupported task type "restore"/],
    [{}, { paths: [] }, /params.*paths|paths/],
    [{ type: 'forget' }, { keep: {} }, /at least one rule/],
    [{ type: 'check' }, { read_data_subset: 'lots' }, /read_data_subset/],
    [{ repo: { repo_id: 'r', url: 'x' } }, {}, /repo.password/],
    [{}, { paths: ['/x'], pre: ['rm -rf'] }, /unsupported params.pre/],
  ])('rejects a bad payload with a reason naming the field (%#)', (over, params, reason) => {
    const v = validateOffer(offer(over, params));
    expect(v.kind).toBe('reject');
    if (v.kind === 'reject') {
      expect(v.reason).toMatch(reason);
      expect(v.leaseId).toBe('lse_01');
    }
  });

  it('ignores garbage without ids (nothing to answer)', () => {
    expect(validateOffer({ hello: 1 }).kind).toBe('ignore');
    expect(validateOffer('x').kind).toBe('ignore');
    expect(validateOffer(offer({ lease_id: '../../etc' })).kind).toBe('ignore');
  });
});

describe('mapOutcome (spec §5.5.4)', () => {
  const r = (outcome: Parameters<typeof mapOutcome>[0]['outcome'], exitCode: number | null = 0) => ({
    outcome,
    exitCode,
    message: 'm',
    snapshotId: null,
    stats: null,
  });
  it('maps restic results', () => {
    expect(mapOutcome(r('success'), null).state).toBe('succeeded');
    expect(mapOutcome(r('partial', 3), null)).toMatchObject({ state: 'succeeded', incomplete: true });
    expect(mapOutcome(r('no-repo', 10), null).error).toMatchObject({ code: 'repo_not_found', retryable: false });
    expect(mapOutcome(r('locked', 11), null).error).toMatchObject({ code: 'repo_locked', retryable: true });
    expect(mapOutcome(r('wrong-password', 12), null).error).toMatchObject({ code: 'wrong_password', retryable: false });
    expect(mapOutcome(r('failed', 42), null).state).toBe('failed');
    expect(mapOutcome(r('stalled', null), 'stalled').error?.code).toBe('stalled');
  });
  it('130: cancelled after our SIGINT, timed_out after our limit, failed interrupted otherwise', () => {
    expect(mapOutcome(r('cancelled', 130), 'cancel').state).toBe('cancelled');
    expect(mapOutcome(r('cancelled', 130), 'timeout').state).toBe('timed_out');
    expect(mapOutcome(r('cancelled', 130), null).error?.code).toBe('interrupted');
    expect(mapOutcome(r('killed', null), null).error?.code).toBe('killed');
    expect(mapOutcome(r('cancelled', 130), 'shutdown').error).toMatchObject({ code: 'agent_shutdown', retryable: true });
  });
  it('the true outcome wins over a cancel request', () => {
    expect(mapOutcome(r('success'), 'cancel').state).toBe('succeeded');
  });
});
