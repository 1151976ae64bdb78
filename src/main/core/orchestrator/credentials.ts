import { registerSecret, unregisterSecret } from '../log/redact.js';
import type { SecretStore } from '../secrets/secret-store.js';

/** Key-store accounts of the agent token's two slots (spec §5.2, §9.3). */
export const TOKEN_ACCOUNT = { current: 'orchestrator:token:current', next: 'orchestrator:token:next' } as const;

/**
 * The agent token in two SecretStore slots, `current` and `next`, for rotation with overlap: the new token
 * goes to `next`, is proven with one heartbeat, then promoted. Nothing is ever written to the config file.
 */
export class TokenSlots {
  #current: string | null = null;
  #next: string | null = null;

  constructor(private readonly store: SecretStore) {}

  /** Which backend holds the token (reported in the heartbeat). */
  get backend(): string {
    return this.store.backend;
  }

  /** Loads both slots and registers them for redaction. */
  async load(): Promise<void> {
    this.#current = await this.store.get(TOKEN_ACCOUNT.current);
    this.#next = await this.store.get(TOKEN_ACCOUNT.next);
    registerSecret(this.#current);
    registerSecret(this.#next);
  }

  get current(): string | null {
    return this.#current;
  }

  get next(): string | null {
    return this.#next;
  }

  /** Writes a freshly registered token as `current` (enrollment, legacy migration). */
  async setCurrent(token: string): Promise<void> {
    registerSecret(token);
    await this.store.set(TOKEN_ACCOUNT.current, token);
    this.#current = token;
  }

  /** Stores a rotated token in `next` (step 1 of the rotation algorithm). */
  async setNext(token: string): Promise<void> {
    registerSecret(token);
    await this.store.set(TOKEN_ACCOUNT.next, token);
    this.#next = token;
  }

  /** `next` worked: it becomes `current`, `next` is cleared. */
  async promote(): Promise<void> {
    if (!this.#next) return;
    const old = this.#current;
    await this.store.set(TOKEN_ACCOUNT.current, this.#next);
    this.#current = this.#next;
    await this.store.delete(TOKEN_ACCOUNT.next);
    this.#next = null;
    if (old) unregisterSecret(old);
  }

  /** `next` was refused: forget it and keep `current`. */
  async discardNext(): Promise<void> {
    await this.store.delete(TOKEN_ACCOUNT.next);
    this.#next = null;
  }
}

/**
 * Moves a token found in the YAML file (`orchestrator.legacyToken`) into the SecretStore on first start.
 * Calls `onMigrated` so the config owner can remove it from the file. Returns true when it moved one.
 */
export async function migrateLegacyToken(
  legacyToken: string | null,
  store: SecretStore,
  onMigrated: (info: { backend: string; alreadyStored: boolean }) => void | Promise<void>,
): Promise<boolean> {
  if (!legacyToken) return false;
  registerSecret(legacyToken);
  const existing = await store.get(TOKEN_ACCOUNT.current);
  if (existing === legacyToken) {
    await onMigrated({ backend: store.backend, alreadyStored: true });
    return false;
  }
  // A token already in the store is newer (rotated); the YAML copy is stale and only needs removing.
  if (!existing) await store.set(TOKEN_ACCOUNT.current, legacyToken);
  await onMigrated({ backend: store.backend, alreadyStored: existing !== null });
  return existing === null;
}
