import type { SecretStore } from './secret-store.js';

/** A SecretStore held in memory, for tests and one-shot tools. */
export class MemorySecretStore implements SecretStore {
  readonly backend = 'memory';
  readonly #values = new Map<string, string>();

  constructor(initial: Readonly<Record<string, string>> = {}) {
    for (const [k, v] of Object.entries(initial)) this.#values.set(k, v);
  }

  async get(account: string): Promise<string | null> {
    return this.#values.get(account) ?? null;
  }

  async set(account: string, value: string): Promise<void> {
    this.#values.set(account, value);
  }

  async delete(account: string): Promise<boolean> {
    return this.#values.delete(account);
  }
}
