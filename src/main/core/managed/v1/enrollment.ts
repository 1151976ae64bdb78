import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname as osHostname, platform, release, arch } from 'node:os';
import type { Dispatcher } from 'undici';
import { registerSecret } from '../../log/redact.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { StateDb } from '../../state/db.js';
import { Backoff, OUTBOX_BACKOFF, sleep } from '../backoff.js';
import { OrchestratorClient } from './client.js';
import { orchestratorScope, TokenSlots } from '../credentials.js';
import { stripUndefined } from './wire.js';
import { Outbox } from './outbox.js';
import { OrchestratorConfigError, parseCaPin } from '../transport.js';
import type { Tunables } from './types.js';

/** Registration refused for good (token expired/used/revoked, out of scope, agent too old). */
export class EnrollmentError extends Error {
  override readonly name = 'EnrollmentError';
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** kv keys of the agent identity in the state DB. */
export const KV = {
  instanceId: 'instance_id',
  agentId: 'agent_id',
  registered: 'registered',
  caPin: 'ca_pin',
  rotationCounter: 'rotation_counter',
  tunables: 'tunables',
  orchestratorUrl: 'orchestrator_url',
} as const;

/** Splits `bke_<id>.<secret>[#spki-sha256:<b64>]` into the bearer part and the optional CA pin. */
export function parseEnrollmentToken(token: string): { bearer: string; caPin: string | null } {
  const trimmed = token.trim();
  const hash = trimmed.indexOf('#');
  const bearer = hash === -1 ? trimmed : trimmed.slice(0, hash);
  const caPin = hash === -1 ? null : trimmed.slice(hash + 1);
  if (!/^bke_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(bearer)) {
    throw new OrchestratorConfigError(
      'enrollment token: expected "bke_<id>.<secret>" (optionally "#spki-sha256:<base64>"); copy it again from the orchestrator',
    );
  }
  if (caPin) parseCaPin(caPin);
  return { bearer, caPin };
}

/** Options of `enroll`. */
export interface EnrollOptions {
  readonly url: string;
  readonly enrollmentToken: string;
  readonly caFile?: string | null;
  readonly insecureLoopback?: boolean;
  readonly secrets: SecretStore;
  /** The agent's state DB (orchestrator migrations applied). */
  readonly db: StateDb;
  readonly agentVersion: string;
  readonly resticVersion?: string | null;
  readonly hostname?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly maxConcurrentTasks?: number;
  readonly signal?: AbortSignal;
  /** Called before each retry wait (transient errors are retried forever, cap 60 s). */
  readonly onRetry?: (message: string, delayMs: number) => void;
  readonly dispatcher?: Dispatcher;
}

/** What a successful enrollment yields. The token itself went to the SecretStore. */
export interface EnrollResult {
  readonly agentId: string;
  readonly tokenId: string | null;
  readonly config: Partial<Tunables>;
}

/** Salted hash of the OS machine id (duplicate detection only). */
export function machineFingerprint(): string {
  let mid = '';
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      mid = readFileSync(f, 'utf8').trim();
      break;
    } catch {
      // try the next one
    }
  }
  return (
    'sha256:' +
    createHash('sha256')
      .update(`restic-agent-fp:${mid || osHostname()}`)
      .digest('hex')
  );
}

/**
 * Exchanges an enrollment token for an agent identity (spec §5.1), in the crash-safe order: persist
 * `instance_id` → register → token into the SecretStore as `current` → persist `agent_id` → forget the
 * enrollment token (the caller must also remove it from wherever it came from).
 */
export async function enroll(opts: EnrollOptions): Promise<EnrollResult> {
  const parsed = parseEnrollmentToken(opts.enrollmentToken);
  registerSecret(parsed.bearer);
  const outbox = new Outbox(opts.db);
  let instanceId = outbox.kvGet(KV.instanceId);
  if (!instanceId) {
    instanceId = randomUUID();
    outbox.kvSet(KV.instanceId, instanceId);
  }
  const client = new OrchestratorClient({
    url: opts.url,
    caFile: opts.caFile ?? null,
    caPin: parsed.caPin,
    insecureLoopback: opts.insecureLoopback ?? false,
    identity: { agentVersion: opts.agentVersion, resticVersion: opts.resticVersion ?? null, bootId: randomUUID() },
    token: () => null,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  const body = {
    instance_id: instanceId,
    hostname: opts.hostname ?? osHostname(),
    machine_fingerprint: machineFingerprint(),
    os: { platform: platform(), release: release(), arch: arch() },
    agent_version: opts.agentVersion,
    protocol: 1,
    ...(opts.resticVersion ? { restic_version: opts.resticVersion } : {}),
    capabilities: ['task:backup', 'task:check', 'task:prune', 'task:forget', 'logs:gzip', 'commands:v1'],
    labels: opts.labels ?? {},
    max_concurrent_tasks: opts.maxConcurrentTasks ?? 1,
  };
  const backoff = new Backoff(OUTBOX_BACKOFF);
  try {
    for (;;) {
      if (opts.signal?.aborted) throw new EnrollmentError('enrollment aborted', null);
      const r = await client.register(body, `reg:${instanceId}`, parsed.bearer, opts.signal);
      if (r.ok && r.body) {
        const slots = new TokenSlots(opts.secrets, orchestratorScope(opts.url, 'v1'));
        await slots.setCurrent(r.body.agent_token);
        outbox.kvSet(KV.agentId, r.body.agent_id);
        outbox.kvSet(KV.registered, 'true');
        outbox.kvSet(KV.orchestratorUrl, opts.url);
        // A pin belongs to this enrollment: one left from an earlier orchestrator must not apply to this one.
        if (parsed.caPin) outbox.kvSet(KV.caPin, parsed.caPin);
        else outbox.kvDelete(KV.caPin);
        if (r.body.config) outbox.kvSet(KV.tunables, JSON.stringify(r.body.config));
        return { agentId: r.body.agent_id, tokenId: r.body.token_id ?? null, config: r.body.config ? stripUndefined(r.body.config) : {} };
      }
      if (r.ok) throw new EnrollmentError('register answered without a body', null);
      if (r.kind === 'auth')
        throw new EnrollmentError(
          `enrollment token refused (${r.code ?? '401'}): it is expired, used up or revoked; create a new one on the orchestrator`,
          r.code,
        );
      if (r.kind === 'forbidden') throw new EnrollmentError(`enrollment not allowed (${r.code ?? '403'}): the token's scope does not cover this agent`, r.code);
      if (r.kind === 'upgrade_required')
        throw new EnrollmentError(
          `this agent version is too old for the orchestrator (minimum ${r.problem?.min_version ?? 'unknown'}); upgrade restic-agent`,
          r.code,
        );
      if (r.kind === 'bad_request' || r.kind === 'gone' || r.kind === 'not_found') throw new EnrollmentError(`registration rejected: ${r.message}`, r.code);
      const delay = backoff.fail({ retryAfterMs: r.retryAfterMs });
      opts.onRetry?.(r.message, delay);
      await sleep(delay, opts.signal);
    }
  } finally {
    await client.close();
  }
}
