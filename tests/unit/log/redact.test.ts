import { describe, expect, it } from 'vitest';
import { redact, registerSecret, unregisterSecret } from '../../../src/main/core/log/redact.js';

describe('redact', () => {
  it.each([
    ['rest:https://alice:s3cr3t@backup.example.com/repo', 'rest:https://alice:***@backup.example.com/repo'],
    ['s3:https://key:secretvalue@minio.local/bucket', 's3:https://key:***@minio.local/bucket'],
    ['AWS_SECRET_ACCESS_KEY=abc123xyz', 'AWS_SECRET_ACCESS_KEY=***'],
    ['RESTIC_PASSWORD=hunter22', 'RESTIC_PASSWORD=***'],
    ['{"token": "eyJhbGciOi.abc.def"}', '{"token": "***"}'],
    ['Authorization: Bearer abcdefghijklmnop', 'Authorization: Bearer ***'],
    ['b2_account_key: K0001234', 'b2_account_key: ***'],
  ])('masks %s', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it.each([
    'open /x/secret.txt: permission denied',
    'lstat /home/bob/tokens/list: no such file or directory',
    'C:\\Users\\bob\\password-notes.txt: access denied',
    'restic --json backup --host vm --tag agent:vm -- /srv/data',
    'Removed 2 snapshot(s), kept 1',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('masks registered secret values wherever they appear, until unregistered', () => {
    registerSecret('correct horse battery staple');
    expect(redact('echo correct horse battery staple | restic')).toBe('echo *** | restic');
    unregisterSecret('correct horse battery staple');
    expect(redact('correct horse battery staple')).toBe('correct horse battery staple');
  });
});
