import { describe, expect, it } from 'vitest';
import type { RepositoryConfig } from '../../../../src/main/core/config/types.js';
import { mapRepositoryString, matchRepository, parseTask, repositoryMatchKey } from '../../../../src/main/core/managed/restic-monitor/task.js';

const ID = '7d1f0c52-1111-4222-8333-444455556666';
const POLICY = '0a1b2c3d-1111-4222-8333-444455556666';

function wire(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ID,
    tenant_id: 'e3b0c442-1111-4222-8333-444455556666',
    agent_id: 'a1b0c442-1111-4222-8333-444455556666',
    policy_id: POLICY,
    task_type: 'backup',
    status: 'assigned',
    repository: 's3:s3.amazonaws.com/my-bucket/host1',
    include_paths: { paths: ['/home/user'] },
    exclude_paths: { patterns: ['*.tmp'] },
    retention: { keepLast: 7, keepDaily: 14 },
    assigned_at: '2025-11-26T10:00:00.123456789+01:00',
    retry_count: 0,
    max_retries: 3,
    created_at: '2025-11-26T09:59:00Z',
    updated_at: '2025-11-26T10:00:00Z',
    retries_remaining: 3,
    some_future_field: { x: 1 },
    ...over,
  };
}

describe('parseTask', () => {
  it('normalises the snake_case task the server sends (unknown fields tolerated)', () => {
    const r = parseTask(wire());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.task).toMatchObject({
      id: ID,
      policyId: POLICY,
      type: 'backup',
      includePaths: ['/home/user'],
      excludePatterns: ['*.tmp'],
      retention: { keepLast: 7, keepDaily: 14 },
      retryCount: 0,
      maxRetries: 3,
      notBefore: null,
    });
  });

  it('reads exclude `paths` and bare arrays, and snake_case legacy retention', () => {
    const r = parseTask(wire({ exclude_paths: { paths: ['/a'] }, retention: { keep_last: 3, keep_weekly: 2, keepWithin: '30d' } }));
    expect(r.ok && r.task.excludePatterns).toEqual(['/a']);
    expect(r.ok && r.task.retention).toEqual({ keepLast: 3, keepWeekly: 2, keepWithin: '30d' });
    const r2 = parseTask(wire({ exclude_paths: ['*.iso'], include_paths: ['/x'] }));
    expect(r2.ok && [r2.task.excludePatterns, r2.task.includePaths]).toEqual([['*.iso'], ['/x']]);
  });

  it('takes the later of next_retry_at and scheduled_for as notBefore', () => {
    const r = parseTask(wire({ next_retry_at: '2030-01-01T00:00:05.5Z', scheduled_for: '2030-01-01T00:00:00Z', retry_count: 1 }));
    expect(r.ok && r.task.notBefore).toBe(Date.parse('2030-01-01T00:00:05.5Z'));
    expect(r.ok && r.task.retryCount).toBe(1);
  });

  it('rejects non-integer integers and bad times, naming the field', () => {
    const r = parseTask(wire({ retry_count: 1.5 }));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/retry_count/);
    expect(!r.ok && r.rejected?.id).toBe(ID); // still reportable
    const t = parseTask(wire({ next_retry_at: 'tomorrow' }));
    expect(!t.ok && t.reason).toMatch(/next_retry_at/);
  });

  it('rejects unsupported types and unsafe tasks but keeps the ids to report them', () => {
    const f = parseTask(wire({ task_type: 'forget' }));
    expect(!f.ok && f.rejected).toMatchObject({ id: ID, policyId: POLICY, taskType: 'forget' });
    const p = parseTask(wire({ task_type: 'prune', retention: {} }));
    expect(!p.ok && p.reason).toMatch(/retention is empty/);
    const b = parseTask(wire({ include_paths: { paths: [] } }));
    expect(!b.ok && b.reason).toMatch(/include_paths/);
    const bad = parseTask(wire({ retention: { keepLast: 0 } }));
    expect(!bad.ok && bad.reason).toMatch(/retention.keepLast/);
  });

  it('cannot report a task without ids', () => {
    const r = parseTask({ task_type: 'backup' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.rejected).toBeNull();
  });
});

describe('repository strings', () => {
  it('prefixes rest: to bare rest-server URLs only', () => {
    expect(mapRepositoryString('https://backup.example:8000/host1/')).toBe('rest:https://backup.example:8000/host1/');
    expect(mapRepositoryString('http://10.0.0.2:8000/x')).toBe('rest:http://10.0.0.2:8000/x');
    expect(mapRepositoryString('rest:https://a/b')).toBe('rest:https://a/b');
    expect(mapRepositoryString('/srv/restic')).toBe('/srv/restic');
    expect(mapRepositoryString('sftp:host:/srv/r')).toBe('sftp:host:/srv/r');
  });

  it('matches what the server drops: credentials, S3 endpoint, SFTP user/port, trailing slash', () => {
    expect(repositoryMatchKey('rest:https://user:pw@Backup.example:8000/host1/')).toBe(repositoryMatchKey('https://backup.example:8000/host1'));
    expect(repositoryMatchKey('s3:https://minio.local:9000/my-bucket/host1')).toBe(repositoryMatchKey('s3:s3.amazonaws.com/my-bucket/host1'));
    expect(repositoryMatchKey('sftp://bob@nas:2222//srv/r')).toBe(repositoryMatchKey('sftp:nas:/srv/r'));
    expect(repositoryMatchKey('/srv/restic/')).toBe('/srv/restic');
    expect(repositoryMatchKey('s3:s3.amazonaws.com/other/host1')).not.toBe(repositoryMatchKey('s3:s3.amazonaws.com/my-bucket/host1'));
  });

  it('picks the one configured repository, refusing ambiguity', () => {
    const repo = (name: string, url: string): RepositoryConfig => ({
      name,
      url,
      password: { kind: 'keyring', account: name },
      env: {},
      secretEnv: [],
      check: null,
      prune: null,
    });
    const repos = { a: repo('a', 'rest:https://u:p@rs.example/a'), b: repo('b', 's3:https://minio/bkt/h') };
    expect(matchRepository(repos, 'https://rs.example/a')?.name).toBe('a');
    expect(matchRepository(repos, 's3:s3.amazonaws.com/bkt/h')?.name).toBe('b');
    expect(matchRepository(repos, '/nope')).toBeNull();
    expect(matchRepository({ ...repos, c: repo('c', 's3:s3.amazonaws.com/bkt/h') }, 's3:s3.amazonaws.com/bkt/h')).toBeNull();
  });
});
