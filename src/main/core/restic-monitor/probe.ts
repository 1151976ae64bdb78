import { Agent, request, type Dispatcher } from 'undici';
import { checkBaseUrl } from './api.js';

/** The two orchestrator dialects the agent speaks. */
export type Dialect = 'v1' | 'restic-monitor';

/** Options for `detectDialect`. */
export interface ProbeOptions {
  readonly insecureLoopback?: boolean;
  readonly ca?: string | null;
  readonly timeoutMs?: number;
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly wwwAuthenticate: string;
  readonly body: string;
}

/**
 * Tells which dialect the orchestrator at `url` speaks, for `orchestrator.protocol: auto`. Probe once and
 * remember the answer. Sends NO credential (an unknown server must not receive the token) and causes no side
 * effect: `POST /agents/register` with `{}` fails validation on restic-monitor before anything is stored.
 *
 * restic-monitor: 400 JSON `{"error":"Validation failed"|"Invalid request body",…}`, or 401 with
 * `WWW-Authenticate: Basic realm="Restic Monitor"`. v1: any `application/problem+json` answer (or 401/2xx JSON)
 * from `/api/v1/agent/heartbeat`. Throws when neither matches (set `orchestrator.protocol` explicitly).
 */
export async function detectDialect(url: string, opts: ProbeOptions = {}): Promise<Dialect> {
  const base = checkBaseUrl(url, opts.insecureLoopback ?? false);
  const dispatcher = new Agent({ connect: opts.ca ? { ca: opts.ca } : {} });
  try {
    const rm = await ask(dispatcher, `${base}/agents/register`, opts.timeoutMs ?? 10_000);
    if (looksLikeResticMonitor(rm)) return 'restic-monitor';
    const v1 = await ask(dispatcher, `${base}/api/v1/agent/heartbeat`, opts.timeoutMs ?? 10_000);
    if (looksLikeV1(v1)) return 'v1';
    throw new Error(
      `could not tell which orchestrator runs at ${base} (POST /agents/register → ${rm.status}, POST /api/v1/agent/heartbeat → ${v1.status}): set orchestrator.protocol to v1 or restic-monitor`,
    );
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
}

async function ask(dispatcher: Dispatcher, url: string, timeoutMs: number): Promise<Answer> {
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: '{}',
      dispatcher,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = (await res.body.text()).slice(0, 4096);
    const h = (n: string): string => {
      const v = res.headers[n];
      return Array.isArray(v) ? v.join(', ') : (v ?? '');
    };
    return { status: res.statusCode, contentType: h('content-type'), wwwAuthenticate: h('www-authenticate'), body };
  } catch (e) {
    throw new Error(`orchestrator at ${url} is unreachable: ${(e as Error).message}`, { cause: e });
  }
}

function jsonObject(body: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(body);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Exported for tests: does a `POST /agents/register {}` answer come from restic-monitor? */
export function looksLikeResticMonitor(a: Answer): boolean {
  if (a.status === 401) return /realm="?Restic Monitor"?/i.test(a.wwwAuthenticate);
  if (a.status === 400) {
    const o = jsonObject(a.body);
    return typeof o?.error === 'string' && ['Validation failed', 'Invalid request body'].includes(o.error);
  }
  return false;
}

/** Exported for tests: does a `POST /api/v1/agent/heartbeat {}` answer come from a protocol-v1 orchestrator? */
export function looksLikeV1(a: Answer): boolean {
  if (a.contentType.includes('application/problem+json')) return true;
  return (a.status === 401 || (a.status >= 200 && a.status < 300)) && a.contentType.includes('json') && jsonObject(a.body) !== null;
}
