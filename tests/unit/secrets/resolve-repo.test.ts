import { describe, expect, it } from 'vitest';
import type { RepositoryConfig } from '../../../src/main/core/config/types.js';
import { redact } from '../../../src/main/core/log/redact.js';
import { MemorySecretStore } from '../../../src/main/core/secrets/memory-store.js';
import { MissingSecretError, resolveRepoAccess } from '../../../src/main/core/secrets/resolve-repo.js';

const repo = (over: Partial<RepositoryConfig>): RepositoryConfig => ({
  name: 'nas',
  url: 'sftp:nas:/backup',
  password: { kind: 'keyring', account: 'repo:nas:password' },
  env: {},
  secretEnv: [],
  check: null,
  prune: null,
  ...over,
});

describe('resolveRepoAccess', () => {
  it('passes password files and commands through untouched', async () => {
    const store = new MemorySecretStore();
    expect(await resolveRepoAccess(repo({ password: { kind: 'file', path: '/etc/p' } }), store)).toEqual({
      url: 'sftp:nas:/backup',
      password: { kind: 'file', path: '/etc/p' },
      env: {},
    });
    const cmd = await resolveRepoAccess(repo({ password: { kind: 'command', command: 'pass show x' } }), store);
    expect(cmd.password).toEqual({ kind: 'command', command: 'pass show x' });
  });

  it('reads a keyring password and secret_env values, and registers them for redaction', async () => {
    const store = new MemorySecretStore({ 'repo:nas:password': 'pw-Zq81-unique', 'repo:nas:env:AWS_SECRET_ACCESS_KEY': 'aws-SeCrEt-unique' });
    const access = await resolveRepoAccess(repo({ env: { AWS_ACCESS_KEY_ID: 'AKIA1' }, secretEnv: ['AWS_SECRET_ACCESS_KEY'] }), store);
    expect(access).toEqual({
      url: 'sftp:nas:/backup',
      password: { kind: 'value', value: 'pw-Zq81-unique' },
      env: { AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'aws-SeCrEt-unique' },
    });
    expect(redact('restic said pw-Zq81-unique and aws-SeCrEt-unique')).toBe('restic said *** and ***');
  });

  it('names the account and how to fix a missing password', async () => {
    const err = await resolveRepoAccess(repo({}), new MemorySecretStore()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingSecretError);
    expect((err as MissingSecretError).account).toBe('repo:nas:password');
    expect((err as Error).message).toMatch(/repository "nas": the repository password is not in the secret store \(memory, account "repo:nas:password"\)/);
    expect((err as Error).message).toMatch(/password_file/);
  });

  it('names the account of a missing secret_env value', async () => {
    const store = new MemorySecretStore({ 'repo:nas:password': 'pw' });
    await expect(resolveRepoAccess(repo({ secretEnv: ['B2_ACCOUNT_KEY'] }), store)).rejects.toThrow(/B2_ACCOUNT_KEY.*account "repo:nas:env:B2_ACCOUNT_KEY"/);
  });
});
