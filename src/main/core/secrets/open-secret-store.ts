import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SecretsSection } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { FileSecretStore } from './file-store.js';
import { KeyringUnavailableError, KeytarSecretStore } from './keytar-store.js';
import type { SecretStore } from './secret-store.js';
import { withTimeout } from './timeout.js';

/** A SecretStore plus why the configured keyring was not used (null when nothing was fallen back from). */
export interface OpenedSecretStore extends SecretStore {
  readonly fallbackReason: string | null;
}

export interface OpenSecretStoreOptions {
  /** Receives the one-line fallback reason as a warning. */
  readonly logger?: Logger;
  /** Time limit for the keyring probe (default 5 s). */
  readonly probeTimeoutMs?: number;
  /** Opens the keyring store (tests inject a fake; default keytar). */
  readonly openKeyring?: () => Promise<SecretStore>;
}

/** Default path of the file backend. */
export function defaultSecretsFile(dataDir: string): string {
  return join(dataDir, 'secrets.json');
}

/**
 * Opens the configured SecretStore. `auto`: the OS keyring if a write/read/delete probe succeeds in time,
 * otherwise the 0600 file (with a one-line reason, logged as a warning). `keyring`: the keyring or a clear
 * error. `file`: `secrets.file` or `<dataDir>/secrets.json`.
 */
export async function openSecretStore(cfg: SecretsSection, dataDir: string, opts: OpenSecretStoreOptions = {}): Promise<OpenedSecretStore> {
  const openFile = async (reason: string | null): Promise<OpenedSecretStore> => {
    const store = new FileSecretStore(cfg.file ?? defaultSecretsFile(dataDir));
    await store.check();
    return withReason(store, reason);
  };
  if (cfg.backend === 'file') return openFile(null);

  const timeoutMs = opts.probeTimeoutMs ?? 5_000;
  const openKeyring = opts.openKeyring ?? (() => KeytarSecretStore.open());
  try {
    const store = await withTimeout(openKeyring(), timeoutMs, `keyring did not open within ${timeoutMs} ms`);
    await withTimeout(probe(store), timeoutMs, `keyring did not answer within ${timeoutMs} ms`);
    return withReason(store, null);
  } catch (e) {
    const why = oneLine(e);
    if (cfg.backend === 'keyring') {
      throw new KeyringUnavailableError(
        `secrets.backend is "keyring" but the OS keyring is not usable: ${why}. Start a keyring (Secret Service: gnome-keyring or KWallet on a D-Bus session), or set secrets.backend: auto or file`,
        { cause: e },
      );
    }
    const reason = `OS keyring unavailable (${why}); using the secrets file instead`;
    opts.logger?.warn(reason);
    return openFile(reason);
  }
}

/** Writes, reads back and deletes a throw-away item: a keyring that only half works is not used. */
async function probe(store: SecretStore): Promise<void> {
  const account = `probe:${randomBytes(6).toString('hex')}`;
  const value = randomBytes(12).toString('hex');
  await store.set(account, value);
  try {
    const back = await store.get(account);
    if (back !== value) throw new Error('a probe item written to the keyring could not be read back');
  } finally {
    await store.delete(account).catch(() => false);
  }
}

function withReason(store: SecretStore, fallbackReason: string | null): OpenedSecretStore {
  return {
    backend: store.backend,
    fallbackReason,
    get: (a) => store.get(a),
    set: (a, v) => store.set(a, v),
    delete: (a) => store.delete(a),
  };
}

function oneLine(e: unknown): string {
  const text = e instanceof KeyringUnavailableError ? e.reason : e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]?.trim() ?? text;
}
