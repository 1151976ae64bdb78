import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import { OrchestratorClient } from './v1/client.js';
import { createDispatcher } from './transport.js';

/** The two orchestrator dialects the agent speaks. */
export type Dialect = 'v1' | 'restic-monitor';

/** Options for `detectDialect`: the same TLS settings (private CA, CA pin) every later request uses. */
export interface ProbeOptions {
  readonly insecureLoopback?: boolean;
  /** PEM text of `orchestrator.ca_file`. */
  readonly ca?: string | null;
  /** `spki-sha256:<b64>` from an enrollment token: checked in the handshake before any request byte is sent. */
  readonly caPin?: string | null;
  readonly agentVersion?: string;
  readonly timeoutMs?: number;
}

/**
 * Tells which dialect the orchestrator at `url` speaks, for `orchestrator.protocol: auto`; the caller remembers
 * the answer. Both requests go through the one pinned transport and carry no credential.
 *
 * v1 is asked first, with a request valid in v1 (§2.2 headers, `POST /api/v1/agent/heartbeat`): a v1 server
 * answers `application/problem+json` (401). restic-monitor answers that route with its own 401
 * (`WWW-Authenticate: Basic realm="Restic Monitor"`) when it has auth, or Go's `404 page not found` when it has
 * none; only on such a definite "no such route" is `POST /agents/register {}` tried, which restic-monitor rejects
 * with a 400 validation error before storing anything.
 */
export async function detectDialect(url: string, opts: ProbeOptions = {}): Promise<Dialect> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dispatcher = createDispatcher({ url, ca: opts.ca ?? null, caPin: opts.caPin ?? null, insecureLoopback: opts.insecureLoopback ?? false });
  const client = new OrchestratorClient({
    url,
    insecureLoopback: opts.insecureLoopback ?? false,
    dispatcher,
    token: () => null,
    identity: { agentVersion: opts.agentVersion ?? '0.0.0', resticVersion: null, bootId: randomUUID() },
  });
  const base = new URL(url).toString().replace(/\/+$/, '');
  try {
    const v1 = await client.heartbeat({}, { signal: AbortSignal.timeout(timeoutMs) });
    if (v1.ok || v1.problem) return 'v1';
    if (v1.status === null) throw new Error(`orchestrator at ${base} is unreachable: ${v1.message}`);
    if (v1.status === 401) {
      const rm = await ask(dispatcher, `${base}/api/v1/agent/heartbeat`, timeoutMs, 'GET');
      if (/realm="?Restic Monitor"?/i.test(rm.wwwAuthenticate)) return 'restic-monitor';
    }
    if (v1.status === 404 || v1.status === 405) {
      const rm = await ask(dispatcher, `${base}/agents/register`, timeoutMs, 'POST');
      if (looksLikeResticMonitor(rm)) return 'restic-monitor';
      throw new Error(
        `could not tell which orchestrator runs at ${base} (POST /api/v1/agent/heartbeat → ${v1.status}, POST /agents/register → ${rm.status}): set orchestrator.protocol to v1 or restic-monitor`,
      );
    }
    throw new Error(
      `could not tell which orchestrator runs at ${base} (POST /api/v1/agent/heartbeat → ${v1.status}): set orchestrator.protocol to v1 or restic-monitor, or try again`,
    );
  } finally {
    await client.close();
  }
}

interface Answer {
  readonly status: number;
  readonly wwwAuthenticate: string;
  readonly body: string;
}

async function ask(dispatcher: Dispatcher, url: string, timeoutMs: number, method: 'GET' | 'POST'): Promise<Answer> {
  try {
    const res = await request(url, {
      method,
      headers: { accept: 'application/json', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(method === 'POST' ? { body: '{}' } : {}),
      dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = (await res.body.text()).slice(0, 4096);
    const auth = res.headers['www-authenticate'];
    return { status: res.statusCode, wwwAuthenticate: Array.isArray(auth) ? auth.join(', ') : (auth ?? ''), body };
  } catch (e) {
    throw new Error(`orchestrator at ${url} is unreachable: ${(e as Error).message}`, { cause: e });
  }
}

/** Exported for tests: does a `POST /agents/register {}` answer come from restic-monitor? */
export function looksLikeResticMonitor(a: Pick<Answer, 'status' | 'wwwAuthenticate' | 'body'>): boolean {
  if (a.status === 401) return /realm="?Restic Monitor"?/i.test(a.wwwAuthenticate);
  if (a.status !== 400) return false;
  try {
    const o = JSON.parse(a.body) as { error?: unknown };
    return typeof o.error === 'string' && ['Validation failed', 'Invalid request body'].includes(o.error);
  } catch {
    return false;
  }
}
