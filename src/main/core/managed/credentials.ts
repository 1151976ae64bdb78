import { createHash } from 'node:crypto';
import { registerSecret, unregisterSecret } from '../log/redact.js';
import type { SecretStore } from '../secrets/secret-store.js';

/** The two dialects (kept here so credentials do not depend on either dialect's code). */
export type CredentialDialect = 'v1' | 'restic-monitor';

/** Accounts of the first releases, not scoped to an orchestrator; moved into a scope on first start. */
export const LEGACY_TOKEN_ACCOUNT = { current: 'orchestrator:token:current', next: 'orchestrator:token:next' } as const;

/**
 * What a stored credential belongs to: the dialect and the orchestrator's normalised URL (lower-case host,
 * default port and trailing slash dropped, `/api/v1/agent` cut). Two configs, or two servers, never share one.
 */
export function orchestratorScope(url: string, dialect: CredentialDialect): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '').replace(/\/api\/v1\/agent$/, '');
  return `${dialect}:${u.protocol}//${u.host}${path}`;
}

/** Agent-state key of the dialect remembered for one orchestrator (`protocol: auto`). */
export const dialectKey = (url: string): string => `orchestrator-dialect:${url}`;
/** Agent-state key of the time the credential of one scope last got an authenticated 2xx. */
export const credentialOkKey = (scope: string): string => `orchestrator-credential-ok:${scope}`;

/** Secret-store accounts of one scope: the two token slots (spec §5.2, §9.3) and the rotation bookkeeping. */
export function tokenAccounts(scope: string) {
  const at = (what: string) => `orchestrator:${scope}:token:${what}`;
  return { current: at('current'), next: at('next'), previous: at('previous'), rotatedFrom: at('rotated-from') } as const;
}

/** The one-way fingerprint a rotation record keeps of a token that was replaced. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The agent token in two SecretStore slots, `current` and `next`, for rotation with overlap: the new token
 * goes to `next`, is proven with one heartbeat, then promoted. Nothing is ever written to the config file.
 */
export class TokenSlots {
  #current: string | null = null;
  #next: string | null = null;
  readonly #accounts: ReturnType<typeof tokenAccounts>;

  constructor(
    private readonly store: SecretStore,
    /** `orchestratorScope(url, 'v1')`. */
    readonly scope: string,
  ) {
    this.#accounts = tokenAccounts(scope);
  }

  /** Which backend holds the token (reported in the heartbeat). */
  get backend(): string {
    return this.store.backend;
  }

  /** Loads both slots and registers them for redaction. */
  async load(): Promise<void> {
    this.#current = await this.store.get(this.#accounts.current);
    this.#next = await this.store.get(this.#accounts.next);
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
    await this.store.set(this.#accounts.current, token);
    this.#current = token;
  }

  /** Stores a rotated token in `next` (step 1 of the rotation algorithm). */
  async setNext(token: string): Promise<void> {
    registerSecret(token);
    await this.store.set(this.#accounts.next, token);
    this.#next = token;
  }

  /** `next` worked: it becomes `current`, `next` is cleared. */
  async promote(): Promise<void> {
    if (!this.#next) return;
    const old = this.#current;
    // The rotation record: a copy of the old token found later (in a YAML file, say) is known to be stale.
    if (old) await this.store.set(this.#accounts.rotatedFrom, tokenFingerprint(old));
    await this.store.set(this.#accounts.current, this.#next);
    this.#current = this.#next;
    await this.store.delete(this.#accounts.next);
    this.#next = null;
    if (old) unregisterSecret(old);
  }

  /** `next` was refused: forget it and keep `current`. */
  async discardNext(): Promise<void> {
    await this.store.delete(this.#accounts.next);
    this.#next = null;
  }
}

/**
 * Moves the unscoped tokens of earlier releases into the scope they belong to (nothing is lost): to the
 * orchestrator recorded at enrollment when there is one, else to `scope` (the configured orchestrator). A token
 * already stored in the target scope is kept, and the legacy copy is left where it is.
 */
export async function migrateLegacyTokens(store: SecretStore, scope: string, recordedScope: string | null): Promise<boolean> {
  const target = tokenAccounts(recordedScope ?? scope);
  let moved = false;
  for (const slot of ['current', 'next'] as const) {
    const legacy = await store.get(LEGACY_TOKEN_ACCOUNT[slot]);
    if (legacy === null) continue;
    if ((await store.get(target[slot])) === null) {
      await store.set(target[slot], legacy);
      moved = true;
    }
    if ((await store.get(target[slot])) === legacy) await store.delete(LEGACY_TOKEN_ACCOUNT[slot]);
  }
  return moved;
}

/** What `adoptConfigToken` decided about a token found in the YAML file. */
export type ConfigTokenDecision =
  /** The file's token is now the stored one (it was missing, equal, or different — the file wins). */
  | { readonly use: 'file'; readonly replaced: boolean }
  /** The rotation record says the file's token was rotated out: the stored one is newer and stays. */
  | { readonly use: 'stored' };

/**
 * A token written into the config file (`orchestrator.token`) for one orchestrator. The file wins over a
 * different stored token — the user just wrote it; the stored one is kept as `previous` — except when the
 * rotation record proves the file's copy was rotated out. The caller removes the token from the file only after
 * it has been proven (one authenticated 2xx).
 */
export async function adoptConfigToken(token: string, store: SecretStore, scope: string): Promise<ConfigTokenDecision> {
  registerSecret(token);
  const a = tokenAccounts(scope);
  const stored = await store.get(a.current);
  if (stored === token) return { use: 'file', replaced: false };
  if (stored !== null && (await store.get(a.rotatedFrom)) === tokenFingerprint(token)) return { use: 'stored' };
  if (stored !== null) await store.set(a.previous, stored);
  await store.set(a.current, token);
  await store.delete(a.next);
  return { use: 'file', replaced: stored !== null };
}
