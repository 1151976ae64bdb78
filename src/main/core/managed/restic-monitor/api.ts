import { request, type Dispatcher } from 'undici';
import { orchestratorScope, tokenAccounts } from '../credentials.js';
import { checkOrchestratorUrl, createDispatcher } from '../transport.js';
import type { z } from 'zod';
import { registerSecret } from '../../log/redact.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import { AckResponse, HeartbeatResponse, JsonErrorBody, RegisterResponse, ResultResponse, TasksResponse } from './schemas.js';

/** SecretStore account holding this server's global credential (the same one its UI uses). */
export function rmTokenAccount(url: string): string {
  return tokenAccounts(orchestratorScope(url, 'restic-monitor')).current;
}

/** How to authenticate: `bearer` sends the stored value as `AUTH_TOKEN`; `basic` expects `user:password` stored. */
export interface RmAuth {
  readonly scheme: 'bearer' | 'basic';
  readonly account: string;
}

/** `POST /agents/register` body. */
export interface RmRegisterRequest {
  readonly hostname: string;
  readonly os: string;
  readonly arch: string;
  readonly version: string;
  readonly metadata?: Readonly<Record<string, string | number | boolean>>;
}

/** `POST /agents/{id}/heartbeat` body (only the fields the server validates or stores). */
export interface RmHeartbeatRequest {
  readonly version: string;
  readonly os: string;
  readonly uptimeSeconds?: number;
  readonly disks?: ReadonlyArray<{ readonly mountPath: string; readonly freeBytes: number; readonly totalBytes: number }>;
  readonly lastBackupStatus?: 'success' | 'failure' | 'none' | 'running';
}

/** `POST /agents/{id}/task-results` body (camelCase; `status` is `success` or `failed`). */
export interface RmTaskResultRequest {
  readonly taskId: string;
  readonly policyId: string;
  readonly taskType: string;
  readonly status: 'success' | 'failed';
  readonly durationSeconds: number;
  readonly log?: string;
  readonly snapshotId?: string;
  readonly errorMessage?: string;
}

/** An HTTP or transport failure talking to the server. */
export class RmHttpError extends Error {
  constructor(
    message: string,
    /** HTTP status, null for a transport failure (refused, reset, timeout, undecodable body). */
    readonly status: number | null,
    /** Error body: JSON `{error, details?}` when parseable, else the text. */
    readonly body: JsonErrorBody | string | null,
    /** Worth retrying unchanged (transport failure, 5xx, bad 2xx body). */
    readonly transient: boolean,
  ) {
    super(message);
    this.name = 'RmHttpError';
  }
  /** `404 Agent not found` (JSON) — the server lost or never had our agent: register again. */
  get agentNotFound(): boolean {
    return this.status === 404 && typeof this.body === 'object' && this.body !== null && this.body.error === 'Agent not found';
  }
}

/** Options for `RmApiClient`. */
export interface RmApiOptions {
  readonly baseUrl: string;
  readonly secrets: SecretStore;
  readonly auth?: RmAuth | null;
  /** Allow `http://` to a loopback address (tests, development). Any other `http://` is refused. */
  readonly insecureLoopback?: boolean;
  /** PEM CA bundle for a private CA (orchestrator.caFile, already read). */
  readonly ca?: string | null;
  /** `spki-sha256:<b64>` CA pin, checked in the TLS handshake (the shared transport). */
  readonly caPin?: string | null;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

/**
 * An undici client for the restic-monitor agent API (docs/spec/restic-monitor-api.md §1): root paths, one global
 * credential, every response validated, error bodies read as JSON or text.
 */
export class RmApiClient {
  readonly baseUrl: string;
  readonly #dispatcher: Dispatcher;
  readonly #timeoutMs: number;

  constructor(private readonly opts: RmApiOptions) {
    this.baseUrl = checkBaseUrl(opts.baseUrl, opts.insecureLoopback ?? false);
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#dispatcher = createDispatcher({
      url: this.baseUrl,
      ca: opts.ca ?? null,
      caPin: opts.caPin ?? null,
      insecureLoopback: opts.insecureLoopback ?? false,
    });
  }

  /** Registers (or re-registers) by hostname; the server answers 201 for a new agent, 200 for a known one. */
  async register(body: RmRegisterRequest): Promise<{ agentId: string; created: boolean }> {
    const { status, data } = await this.#call('POST', '/agents/register', body, RegisterResponse, [200, 201]);
    return { agentId: data.agentId.toLowerCase(), created: status === 201 };
  }

  /** Sends a heartbeat; returns the server's suggested task-check interval in seconds (null when absent). */
  async heartbeat(agentId: string, body: RmHeartbeatRequest): Promise<{ nextTaskCheckAfterSeconds: number | null }> {
    const { data } = await this.#call('POST', `/agents/${seg(agentId)}/heartbeat`, body, HeartbeatResponse, [200]);
    return { nextTaskCheckAfterSeconds: data.nextTaskCheckAfterSeconds ?? null };
  }

  /** Fetches AND CLAIMS up to `limit` pending tasks (the GET moves them to `assigned`). Items are unvalidated. */
  async pollTasks(agentId: string, limit: number): Promise<unknown[]> {
    const { status, data } = await this.#call(
      'GET',
      `/agents/${seg(agentId)}/tasks?limit=${Math.max(1, Math.floor(limit))}`,
      undefined,
      TasksResponse,
      [200, 204],
    );
    return status === 204 ? [] : (data.tasks ?? []);
  }

  /** Acknowledges a task (→ `in-progress`); the body is ignored by the server. */
  async ack(agentId: string, taskId: string): Promise<void> {
    await this.#call('POST', `/agents/${seg(agentId)}/tasks/${seg(taskId)}/ack`, undefined, AckResponse, [200]);
  }

  /** Reports the final result of a task, log inline. */
  async submitResult(agentId: string, body: RmTaskResultRequest): Promise<void> {
    await this.#call('POST', `/agents/${seg(agentId)}/task-results`, body, ResultResponse, [200]);
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  async #authHeader(): Promise<string | null> {
    const auth = this.opts.auth === undefined ? { scheme: 'bearer' as const, account: rmTokenAccount(this.baseUrl) } : this.opts.auth;
    if (!auth) return null;
    const value = await this.opts.secrets.get(auth.account);
    if (!value) return null; // a server without AUTH_TOKEN/AUTH_USERNAME leaves every route open
    registerSecret(value);
    if (auth.scheme === 'bearer') return `Bearer ${value}`;
    const b64 = Buffer.from(value, 'utf8').toString('base64');
    registerSecret(b64);
    return `Basic ${b64}`;
  }

  async #call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: S,
    okStatuses: ReadonlyArray<number>,
  ): Promise<{ status: number; data: z.infer<S> }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.opts.userAgent ?? 'restic-agent' };
    const authz = await this.#authHeader();
    if (authz) headers.authorization = authz;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? (method === 'POST' ? '' : undefined) : JSON.stringify(body),
        dispatcher: this.#dispatcher,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs + 1000),
      });
    } catch (e) {
      throw new RmHttpError(`${what}: ${(e as Error).message} (server unreachable?)`, null, null, true);
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw new RmHttpError(`${what}: reading the response failed: ${(e as Error).message}`, null, null, true);
    }
    const status = res.statusCode;
    if (!okStatuses.includes(status)) {
      const errBody = parseErrorBody(text);
      const detail = typeof errBody === 'string' ? errBody.trim().slice(0, 200) : `${errBody.error}${errBody.details ? `: ${errBody.details}` : ''}`;
      const hint = status === 401 ? ' — check the orchestrator token/credentials in the secret store' : '';
      throw new RmHttpError(`${what}: HTTP ${status} ${detail}${hint}`, status, errBody, status >= 500 || status === 408 || status === 429);
    }
    if (status === 204) return { status, data: schema.parse({ tasks: [] }) };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // A 2xx that is not JSON (a proxy's HTML page …) is treated as a transient failure.
      throw new RmHttpError(`${what}: HTTP ${status} with a body that is not JSON`, status, text.slice(0, 200), true);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      throw new RmHttpError(`${what}: unexpected response (${issues})`, status, null, true);
    }
    return { status, data: parsed.data };
  }
}

/** JSON `{error, details?}` when the body parses as such, else the text (Go's `http.Error` bodies). */
export function parseErrorBody(text: string): JsonErrorBody | string {
  try {
    const r = JsonErrorBody.safeParse(JSON.parse(text));
    if (r.success) return r.data;
  } catch {
    /* text body */
  }
  return text;
}

function seg(id: string): string {
  return encodeURIComponent(id);
}

/** Validates the base URL: no trailing slash (the server routes exact paths), TLS unless loopback + opted in. */
export function checkBaseUrl(url: string, insecureLoopback: boolean): string {
  // The one URL rule of managed mode (https, or http to any loopback address with insecure_loopback).
  return checkOrchestratorUrl(url, insecureLoopback).toString().replace(/\/+$/, '');
}
