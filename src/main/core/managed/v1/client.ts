import { arch, platform } from 'node:os';
import { gzipSync } from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { redact } from '../../log/redact.js';
import { parseRetryAfter } from '../backoff.js';
import { checkOrchestratorUrl, createDispatcher, uuidv7, type TransportOptions } from '../transport.js';
import {
  HeartbeatResponseSchema,
  LogsResponseSchema,
  PollResponseSchema,
  ProblemSchema,
  RegisterResponseSchema,
  RotateResponseSchema,
  StatusResponseSchema,
  type Problem,
} from './wire.js';

/** Largest response body the agent reads; anything bigger is a transient error, not a crash. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * How a failed call must be handled (spec §3): `transient` = retry with backoff; `overload` = 429/503 with
 * `retryAfterMs`; the rest map to one row of the error table each.
 */
export type FailureKind =
  'transient' | 'overload' | 'bad_request' | 'auth' | 'forbidden' | 'not_found' | 'conflict' | 'gone' | 'too_large' | 'upgrade_required';

/** Outcome of one HTTP attempt. Never throws for network or server problems. */
export type CallResult<T> =
  | { readonly ok: true; readonly status: number; readonly body: T; readonly rttMs: number; readonly serverTime: string | null }
  | {
      readonly ok: false;
      readonly kind: FailureKind;
      readonly status: number | null;
      /** Problem `code` (e.g. `log_gap`, `token_expired`), or null. */
      readonly code: string | null;
      readonly problem: Problem | null;
      readonly retryAfterMs: number | null;
      /** One redacted sentence for logs. */
      readonly message: string;
    };

/** Static identity sent in headers. */
export interface ClientIdentity {
  readonly agentVersion: string;
  readonly resticVersion: string | null;
  readonly bootId: string;
}

/** Options of `OrchestratorClient`. */
export interface ClientOptions extends TransportOptions {
  readonly identity: ClientIdentity;
  /** Current bearer token (agent token, or the enrollment token for register); read per request. */
  readonly token: () => string | null;
  readonly agentId?: () => string | null;
  /** Injected in tests; defaults to one created from the TLS options. */
  readonly dispatcher?: Dispatcher;
}

interface CallSpec<S extends z.ZodType> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly schema: S;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly gzip?: boolean;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Overrides the token getter (e.g. trying the `next` slot). */
  readonly token?: string;
}

/** The HTTP side of protocol v1 on the agent: headers, validation, error classification. */
export class OrchestratorClient {
  readonly #base: string;
  readonly #dispatcher: Dispatcher;
  readonly #opts: ClientOptions;
  readonly #userAgent: string;

  constructor(opts: ClientOptions) {
    const url = checkOrchestratorUrl(opts.url, opts.insecureLoopback);
    // Accept both the server root and the full agent base (`…/api/v1/agent`).
    const root = url.toString().replace(/\/+$/, '');
    this.#base = root.endsWith('/api/v1/agent') ? root : `${root}/api/v1/agent`;
    this.#dispatcher = opts.dispatcher ?? createDispatcher(opts);
    this.#opts = opts;
    const restic = opts.identity.resticVersion ? ` restic/${opts.identity.resticVersion}` : '';
    this.#userAgent = `restic-agent/${opts.identity.agentVersion} (${platform()}; ${arch()}; node/${process.versions.node})${restic}`;
  }

  /** `POST /register` with the enrollment token. */
  register(body: object, key: string, enrollmentToken: string, signal?: AbortSignal) {
    return this.#call({
      method: 'POST',
      path: '/register',
      schema: RegisterResponseSchema,
      body,
      idempotencyKey: key,
      token: enrollmentToken,
      timeoutMs: 30_000,
      signal,
    });
  }

  /** `POST /token/rotate` with the current (possibly expired) token. */
  rotate(reason: 'scheduled' | 'server_requested' | 'manual', key: string, token: string, signal?: AbortSignal) {
    return this.#call({
      method: 'POST',
      path: '/token/rotate',
      schema: RotateResponseSchema,
      body: { reason },
      idempotencyKey: key,
      token,
      timeoutMs: 30_000,
      signal,
    });
  }

  /** `POST /heartbeat` (no idempotency key: latest wins). `token` overrides the slot (rotation). */
  heartbeat(body: object, opts: { token?: string; signal?: AbortSignal } = {}) {
    return this.#call({ method: 'POST', path: '/heartbeat', schema: HeartbeatResponseSchema, body, timeoutMs: 15_000, ...opts });
  }

  /** `GET /tasks?wait=&capacity=` long-poll; HTTP timeout `wait + 10 s`. A 204 yields `body: null`. */
  poll(waitS: number, capacity: number, signal?: AbortSignal) {
    const wait = Math.max(0, Math.min(50, Math.floor(waitS)));
    return this.#call({
      method: 'GET',
      path: `/tasks?wait=${wait}&capacity=${Math.max(0, capacity)}`,
      schema: PollResponseSchema,
      timeoutMs: (wait + 10) * 1000,
      signal,
    });
  }

  /** `POST /tasks/{id}/status` with the whole status document. */
  status(taskId: string, doc: { lease_id: string; status_seq: number }, signal?: AbortSignal) {
    return this.#call({
      method: 'POST',
      path: `/tasks/${encodeURIComponent(taskId)}/status`,
      schema: StatusResponseSchema,
      body: doc,
      idempotencyKey: `st:${doc.lease_id}:${doc.status_seq}`,
      timeoutMs: 30_000,
      signal,
    });
  }

  /** `POST /logs`, gzip-compressed, one stream per request. */
  logs(body: { stream: object; first_seq: number; entries: ReadonlyArray<{ seq: number }>; final: boolean }, streamId: string, signal?: AbortSignal) {
    const last = body.entries.at(-1)?.seq ?? body.first_seq;
    return this.#call({
      method: 'POST',
      path: '/logs',
      schema: LogsResponseSchema,
      body,
      gzip: true,
      idempotencyKey: `log:${streamId}:${body.first_seq}-${last}`,
      timeoutMs: 60_000,
      signal,
    });
  }

  /** Closes idle connections. */
  async close(): Promise<void> {
    await this.#dispatcher.close().catch(() => {});
  }

  async #call<S extends z.ZodType>(spec: CallSpec<S>): Promise<CallResult<z.infer<S> | null>> {
    const token = spec.token ?? this.#opts.token();
    const agentId = this.#opts.agentId?.() ?? null;
    const headers: Record<string, string> = {
      'user-agent': this.#userAgent,
      'agent-version': this.#opts.identity.agentVersion,
      'agent-protocol': '1',
      'agent-boot-id': this.#opts.identity.bootId,
      'x-request-id': uuidv7(),
      accept: 'application/json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    if (agentId) headers['agent-id'] = agentId;
    if (spec.idempotencyKey) headers['idempotency-key'] = spec.idempotencyKey;
    let payload: Buffer | undefined;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = Buffer.from(JSON.stringify(spec.body));
      if (spec.gzip) {
        payload = gzipSync(payload);
        headers['content-encoding'] = 'gzip';
      }
    }
    const timeout = AbortSignal.timeout(spec.timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const started = performance.now();
    let status: number;
    let resHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const res = await request(this.#base + spec.path, {
        method: spec.method,
        headers,
        body: payload,
        signal,
        dispatcher: this.#dispatcher,
        headersTimeout: spec.timeoutMs,
        bodyTimeout: spec.timeoutMs,
      });
      status = res.statusCode;
      resHeaders = res.headers;
      text = await readCapped(res.body);
    } catch (e) {
      const why = timeout.aborted ? `timed out after ${spec.timeoutMs} ms` : spec.signal?.aborted ? 'aborted' : (e as Error).message;
      return fail('transient', null, null, null, null, `${spec.method} ${spec.path}: ${redact(why)}`);
    }
    const rttMs = Math.round(performance.now() - started);
    const header = (n: string) => {
      const v = resHeaders[n];
      return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
    };
    const where = `${spec.method} ${spec.path} → ${status}`;
    if (status >= 200 && status < 300) {
      if (status === 204) return { ok: true, status, body: null, rttMs, serverTime: header('x-server-time') };
      const json = parseJson(text);
      if (json === undefined) return fail('transient', status, null, null, null, `${where}: body is not JSON (proxy or error page?)`);
      const parsed = spec.schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = issue?.path.join('.') || '(root)';
        return fail('transient', status, null, null, null, `${where}: unexpected response, field "${path}": ${issue?.message ?? 'invalid'}`);
      }
      return { ok: true, status, body: parsed.data as z.infer<S>, rttMs, serverTime: header('x-server-time') };
    }
    const problemJson = parseJson(text);
    const problemParsed = problemJson === undefined ? null : ProblemSchema.safeParse(problemJson);
    const problem = problemParsed?.success ? problemParsed.data : null;
    const code = problem?.code ?? null;
    const retryAfter = parseRetryAfter(header('retry-after'));
    const msg = `${where}${code ? ` ${code}` : ''}${problem?.detail ? `: ${redact(problem.detail).slice(0, 300)}` : ''}`;
    return fail(classify(status), status, code, problem, retryAfter, msg);
  }
}

function fail(kind: FailureKind, status: number | null, code: string | null, problem: Problem | null, retryAfterMs: number | null, message: string) {
  return { ok: false as const, kind, status, code, problem, retryAfterMs, message };
}

/** Maps an HTTP status to the spec §3 handling class. */
export function classify(status: number): FailureKind {
  switch (status) {
    case 400:
    case 422:
      return 'bad_request';
    case 401:
      return 'auth';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 413:
      return 'too_large';
    case 426:
      return 'upgrade_required';
    case 429:
    case 503:
      return 'overload';
    default:
      return 'transient';
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy?: (e?: Error) => void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      body.destroy?.();
      throw new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
