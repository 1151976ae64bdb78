import { parseDocument } from 'yaml';
import { atomicWriteFile } from './atomic-write.js';
import { ConfigError } from './errors.js';
import { validateConfigText } from './load.js';

/** Refused: the text would put a secret into the configuration file. */
export class SecretInConfigError extends Error {
  constructor(readonly paths: ReadonlyArray<string>) {
    super(
      `refusing to write a configuration that contains secrets (${paths.join(', ')}): keep passwords and tokens in the ` +
        'SecretStore (password_keyring / secret_env) and reference them from the file',
    );
    this.name = 'SecretInConfigError';
  }
}

/** Keys whose literal value is a secret. `password_file`, `password_command`, `password_keyring` only point to one. */
const SECRET_KEY = /^(password|passwd|token|secret|api_?key)$|(_PASSWORD|_SECRET|_TOKEN|_SECRET_ACCESS_KEY|_API_KEY|_ACCOUNT_KEY)$/i;
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/i;

/**
 * Writes configuration text atomically (temp file + rename, mode 0600, parent created). The text must be a
 * valid configuration (else `ConfigError`) and must not contain a repository password, token or other
 * secret (else `SecretInConfigError`); `knownSecrets` are exact values that must not appear either.
 */
export async function writeConfigFile(path: string, yamlText: string, opts: { knownSecrets?: ReadonlyArray<string> } = {}): Promise<void> {
  const found = findSecrets(yamlText);
  for (const secret of opts.knownSecrets ?? []) {
    if (secret.length >= 4 && yamlText.includes(secret)) found.push('a stored secret value');
  }
  if (found.length) throw new SecretInConfigError(found);
  const result = validateConfigText(yamlText, path);
  if (!result.ok) throw new ConfigError(path, result.errors);
  await atomicWriteFile(path, yamlText.endsWith('\n') ? yamlText : `${yamlText}\n`, 0o600);
}

/** Key paths in the YAML text that hold a secret value (keys named like one, URLs with a password). */
export function findSecrets(yamlText: string): string[] {
  const doc = parseDocument(yamlText);
  const found: string[] = [];
  const walk = (value: unknown, path: string): void => {
    if (typeof value === 'string') {
      if (URL_PASSWORD.test(value)) found.push(path);
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const at = path ? `${path}.${k}` : k;
        if (SECRET_KEY.test(k) && v !== null && v !== undefined && typeof v !== 'object') found.push(at);
        else walk(v, at);
      }
    }
  };
  // Unparsable text is left to validation, which reports the syntax error.
  if (!doc.errors.length) walk(doc.toJS(), '');
  return found;
}
