import type { RepoAccess, RepositoryConfig } from '../config/types.js';
import { registerSecret } from '../log/redact.js';
import type { SecretStore } from './secret-store.js';

/** A secret the configuration refers to is not in the SecretStore. */
export class MissingSecretError extends Error {
  constructor(
    readonly repository: string,
    readonly account: string,
    backend: string,
    what: string,
  ) {
    super(
      `repository "${repository}": ${what} is not in the secret store (${backend}, account "${account}"). ` +
        'Store the value in the secret store under that account, or configure password_file / password_command instead',
    );
    this.name = 'MissingSecretError';
  }
}

/** SecretStore account of a `secret_env` variable. */
export function secretEnvAccount(repository: string, variable: string): string {
  return `repo:${repository}:env:${variable}`;
}

const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL/i;

/**
 * Resolves a repository's secrets for the restic executor: password file/command pass through, a keyring
 * password and every `secret_env` variable are read from the SecretStore. Every secret value is registered
 * with the log redactor before it is returned.
 */
export async function resolveRepoAccess(repo: RepositoryConfig, secrets: SecretStore): Promise<RepoAccess> {
  let password: RepoAccess['password'];
  if (repo.password.kind === 'keyring') {
    const value = await secrets.get(repo.password.account);
    if (value === null || value === '') throw new MissingSecretError(repo.name, repo.password.account, secrets.backend, 'the repository password');
    registerSecret(value);
    password = { kind: 'value', value };
  } else {
    password = repo.password;
  }
  const env: Record<string, string> = { ...repo.env };
  for (const [name, value] of Object.entries(repo.env)) if (SECRET_NAME.test(name)) registerSecret(value);
  for (const variable of repo.secretEnv) {
    const account = secretEnvAccount(repo.name, variable);
    const value = await secrets.get(account);
    if (value === null) throw new MissingSecretError(repo.name, account, secrets.backend, `the value of ${variable}`);
    registerSecret(value);
    env[variable] = value;
  }
  return { url: repo.url, password, env };
}
