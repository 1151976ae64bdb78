import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { registerSecret } from '../log/redact.js';
import { SOURCE_PLUGINS } from './registry.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { PluginContext, SecretRef, SourcePlugin } from './types.js';

/** Where plugin runs keep their credential files: inside the data dir, never the shared /tmp. */
export function pluginWorkRoot(dataDir: string): string {
  return join(dataDir, 'plugin-runs');
}

/** A plugin kind's persistent directory (journals that must survive a crash), created 0700. */
export async function pluginStateDir(dataDir: string, kind: string): Promise<string> {
  const dir = join(dataDir, 'plugin-state', kind);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Runs `fn` with a plugin context: a fresh 0700 directory for credential files (removed afterwards, whatever
 * happens) and a secret reader that registers every value with the log redactor.
 */
export async function withPluginContext<T>(
  o: { readonly kind: string; readonly dataDir: string; readonly secrets: SecretStore; readonly signal?: AbortSignal },
  fn: (ctx: PluginContext) => Promise<T>,
): Promise<T> {
  const root = pluginWorkRoot(o.dataDir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const workDir = await mkdtemp(join(root, 'run-'));
  const stateDir = await pluginStateDir(o.dataDir, o.kind);
  try {
    return await fn({ workDir, stateDir, signal: o.signal ?? new AbortController().signal, secret: (ref) => readSecret(ref, o.secrets) });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * At start, before any run: removes the credential files a crashed run left behind, and lets every plugin undo
 * what it journalled (start the containers a crashed backup stopped). Returns what was done, for the log.
 */
export async function recoverPlugins(dataDir: string): Promise<string[]> {
  await rm(pluginWorkRoot(dataDir), { recursive: true, force: true });
  const done: string[] = [];
  for (const [kind, plugin] of Object.entries(SOURCE_PLUGINS) as Array<[string, SourcePlugin]>) {
    if (!plugin.recover) continue;
    try {
      done.push(...(await plugin.recover({ stateDir: await pluginStateDir(dataDir, kind) })));
    } catch (e) {
      done.push(`${kind}: recovery failed: ${(e as Error).message}`);
    }
  }
  return done;
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
