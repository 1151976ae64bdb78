import { arch, platform } from 'node:os';
import type { Logger } from '../../log/logger.js';
import { redact } from '../../log/redact.js';
import { backoffDelay, OUTBOX_BACKOFF } from '../backoff.js';
import { RmHttpError, type RmApiClient } from './api.js';
import type { RmStore } from './store.js';

/** Who this agent is to the server, for registration. */
export interface RmIdentity {
  readonly hostname: string;
  readonly agentVersion: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Called after each 2xx answer: the stored credential works. */
  readonly onAuthenticated?: () => void;
}

/**
 * The agent's standing with a restic-monitor server: its agent id (registered on first need, by hostname, and
 * again when the server forgets it), whether the last call got through, and the last error shown to the user.
 */
export class RmConnection {
  connected = false;
  lastError: string | null = null;
  #agentId: string | null;
  #registering: Promise<string | null> | null = null;

  constructor(
    private readonly api: RmApiClient,
    private readonly store: RmStore,
    private readonly who: RmIdentity,
    private readonly log: Logger,
    /** Waits out a backoff; resolves early when the agent stops. */
    private readonly wait: (ms: number) => Promise<void>,
    private readonly stopped: () => boolean,
  ) {
    this.#agentId = store.agentId(api.baseUrl);
  }

  get agentId(): string | null {
    return this.#agentId;
  }

  /** The agent id, registering first when there is none (one registration at a time); null when stopped. */
  async ensureAgentId(): Promise<string | null> {
    if (this.#agentId) return this.#agentId;
    this.#registering ??= this.#register().finally(() => (this.#registering = null));
    return this.#registering;
  }

  /** The server no longer knows `staleId` (its tenant changed, or the agent row is gone): register again. */
  forget(staleId: string): void {
    if (this.#agentId === staleId) {
      this.log.warn('restic-monitor: server answered "Agent not found"; registering again', { agentId: staleId });
      this.#agentId = null;
    }
  }

  ok(): void {
    this.connected = true;
    this.lastError = null;
    this.who.onAuthenticated?.();
  }

  fail(what: string, e: unknown): void {
    const msg = redact(e instanceof Error ? e.message : String(e));
    if (e instanceof RmHttpError && e.status === null) this.connected = false;
    if (msg !== this.lastError) this.log.warn(`restic-monitor: ${what} failed: ${msg}`);
    this.lastError = msg;
  }

  /** One registration attempt (the update health check's probe: no retries, the caller reports the error). */
  async registerOnce(): Promise<string> {
    const { agentId, created } = await this.api.register({
      hostname: this.who.hostname.slice(0, 255),
      os: platform().slice(0, 50),
      arch: arch().slice(0, 50),
      version: this.who.agentVersion.slice(0, 50),
      metadata: { agent: 'restic-agent', ...(this.who.metadata ?? {}) },
    });
    this.store.setAgentId(this.api.baseUrl, agentId);
    this.#agentId = agentId;
    this.ok();
    this.log.info(`restic-monitor: ${created ? 'registered' : 're-registered'} as ${agentId}`, { hostname: this.who.hostname });
    return agentId;
  }

  async #register(): Promise<string | null> {
    for (let failures = 0; !this.stopped(); failures++) {
      try {
        return await this.registerOnce();
      } catch (e) {
        this.fail('register', e);
        await this.wait(backoffDelay(OUTBOX_BACKOFF, failures));
      }
    }
    return null;
  }
}
