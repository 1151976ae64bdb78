import type * as KeytarModule from 'keytar';
import type { SecretStore } from './secret-store.js';
import { withTimeout } from './timeout.js';

/** The keyring service name every agent item is stored under. */
export const KEYRING_SERVICE = 'restic-monitor-agent';

/** The keyring could not be loaded or did not answer. */
export class KeyringUnavailableError extends Error {
  /** The underlying cause in a few words (`Could not connect: No such file or directory`). */
  readonly reason: string;

  constructor(message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.name = 'KeyringUnavailableError';
    this.reason = options?.reason ?? message;
  }
}

type Keytar = Pick<typeof KeytarModule, 'getPassword' | 'setPassword' | 'deletePassword'>;

/** `keyring (Secret Service)`, `keyring (macOS Keychain)` or `keyring (Windows Credential Manager)`. */
export function keyringBackendName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'keyring (macOS Keychain)';
  if (platform === 'win32') return 'keyring (Windows Credential Manager)';
  return 'keyring (Secret Service)';
}

/**
 * Loads keytar on demand: a missing or broken native module becomes a clear `KeyringUnavailableError`
 * instead of a crash at import time.
 */
export async function loadKeytar(): Promise<Keytar> {
  try {
    const mod = (await import('keytar')) as Keytar & { default?: Keytar };
    const k = mod.default ?? mod;
    if (typeof k.getPassword !== 'function') throw new Error('unexpected module shape');
    return k;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new KeyringUnavailableError(`the OS keyring module (keytar) could not be loaded: ${why}. Reinstall the agent, or set secrets.backend: file`, {
      cause: e,
      reason: `keytar could not be loaded: ${why}`,
    });
  }
}

/**
 * A SecretStore in the OS keyring through keytar. Every call has a time limit: without a D-Bus session (or
 * with a locked keyring waiting for a prompt) libsecret can block indefinitely.
 */
export class KeytarSecretStore implements SecretStore {
  readonly backend: string;

  constructor(
    private readonly keytar: Keytar,
    private readonly opts: { service?: string; timeoutMs?: number; platform?: NodeJS.Platform } = {},
  ) {
    this.backend = keyringBackendName(opts.platform);
  }

  /** Loads keytar and returns a store for `service` (default `restic-monitor-agent`). */
  static async open(opts: { service?: string; timeoutMs?: number } = {}): Promise<KeytarSecretStore> {
    return new KeytarSecretStore(await loadKeytar(), opts);
  }

  get(account: string): Promise<string | null> {
    return this.#call('read', account, () => this.keytar.getPassword(this.#service, account));
  }

  set(account: string, value: string): Promise<void> {
    return this.#call('write', account, () => this.keytar.setPassword(this.#service, account, value));
  }

  delete(account: string): Promise<boolean> {
    return this.#call('delete', account, () => this.keytar.deletePassword(this.#service, account));
  }

  get #service(): string {
    return this.opts.service ?? KEYRING_SERVICE;
  }

  async #call<T>(what: string, account: string, fn: () => Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs ?? 15_000;
    try {
      return await withTimeout(fn(), ms, `no answer within ${ms} ms (is the keyring locked?)`);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new KeyringUnavailableError(`${this.backend}: could not ${what} "${account}": ${why}`, { cause: e, reason: why });
    }
  }
}
