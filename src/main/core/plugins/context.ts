import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { registerSecret } from '../log/redact.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { PluginContext, SecretRef } from './types.js';

/** Where plugin runs keep their credential files: inside the data dir, never the shared /tmp. */
export function pluginWorkRoot(dataDir: string): string {
  return join(dataDir, 'plugin-runs');
}

/**
 * Runs `fn` with a plugin context: a fresh 0700 directory for credential files (removed afterwards, whatever
 * happens) and a secret reader that registers every value with the log redactor.
 */
export async function withPluginContext<T>(
  o: { readonly dataDir: string; readonly secrets: SecretStore; readonly signal?: AbortSignal },
  fn: (ctx: PluginContext) => Promise<T>,
): Promise<T> {
  const root = pluginWorkRoot(o.dataDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const workDir = await mkdtemp(join(root, 'run-'));
  try {
    return await fn({ workDir, signal: o.signal ?? new AbortController().signal, secret: (ref) => readSecret(ref, o.secrets) });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Removes credential files a crashed run left behind (called at start). */
export async function clearPluginWork(dataDir: string): Promise<void> {
  await rm(pluginWorkRoot(dataDir), { recursive: true, force: true });
}

async function readSecret(ref: SecretRef, secrets: SecretStore): Promise<string> {
  let value: string | null;
  if ('file' in ref) {
    // A password file holds one line; its trailing newline is not part of the password.
    value = (await readFile(ref.file, 'utf8')).replace(/\r?\n$/, '');
  } else {
    value = await secrets.get(ref.keyring);
    if (value === null)
      throw new Error(`the password is not in the secret store (${secrets.backend}, account "${ref.keyring}"): store it there, or give password_file`);
  }
  registerSecret(value);
  return value;
}
