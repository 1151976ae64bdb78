/**
 * A fault-injecting HTTP proxy for the conformance harness (spec §12.1). Rules match a route (method + path
 * pattern) and apply to the next N matching requests or with a seeded probability: drop the request, forward and
 * drop the response (half-open), delay, answer 429/503 (+ Retry-After) / 500 / 502, an HTML page with 200, cut a
 * long poll after N ms, reset the connection (RST), blackhole, or hold until released (to reorder requests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What to do with a matching request. */
export type FaultAction =
  | { kind: 'drop_request' } // close the client connection without forwarding
  | { kind: 'blackhole' } // never answer and never forward; the client times out
  | { kind: 'drop_response' } // forward, let upstream answer (and commit), then close the client connection
  | { kind: 'delay'; ms: number; where?: 'request' | 'response' } // wait before forwarding (default) or before answering
  | { kind: 'status'; status: number; retryAfter?: number | string; body?: string } // answer without forwarding
  | { kind: 'html200' } // a proxy/captive-portal page with status 200, not forwarded
  | { kind: 'cut'; afterMs: number; status?: number } // forward; if upstream has not answered after afterMs, close (or answer `status`)
  | { kind: 'reset' } // TCP RST without forwarding
  | { kind: 'hold' }; // park until the rule handle's release(); then forward

/** A fault rule. */
export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Path (query ignored): a RegExp, or a string with `*` matching one path segment part (e.g. `/api/v1/agent/tasks/*\/status`). */
  path?: string | RegExp;
  /** Extra predicate on the buffered request body (e.g. match a status_seq). */
  bodyMatch?: (body: string) => boolean;
  action: FaultAction;
  /** Apply to this many matching requests, then retire (default: unlimited). */
  times?: number;
  /** Apply with this probability (seeded PRNG) instead of always. */
  probability?: number;
}

/** A rule added to the proxy. */
export interface FaultRuleHandle {
  /** How many requests this rule has affected. */
  readonly hits: number;
  /** Forwards every request parked by a `hold` rule (in arrival order) and keeps later ones flowing. */
  release(): void;
  remove(): void;
}

/** One proxied request, for assertions. */
export interface ProxyLogEntry {
  method: string;
  path: string;
  fault: FaultAction['kind'] | null;
  status: number | null;
  body: string;
}

/** The proxy. */
export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  addRule(rule: FaultRule): FaultRuleHandle;
  clearRules(): void;
  /** Every request seen, oldest first. */
  readonly log: ProxyLogEntry[];
  close(): Promise<void>;
}

/** mulberry32: a small deterministic PRNG so probabilistic faults replay identically for one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pathMatches(pattern: string | RegExp | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  if (pattern instanceof RegExp) return pattern.test(path);
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return re.test(path);
}

interface LiveRule {
  rule: FaultRule;
  hits: number;
  held: Array<() => void>;
  released: boolean;
  removed: boolean;
}

const HTML = '<!DOCTYPE html><html><head><title>Gateway</title></head><body><h1>Please log in to the network</h1></body></html>';

/** Starts a proxy on 127.0.0.1 (random port unless given) in front of `target` (e.g. `http://127.0.0.1:8080`). */
export async function createFaultProxy(init: { target: string; seed?: number; port?: number }): Promise<FaultProxy> {
  const target = new URL(init.target);
  const random = prng(init.seed ?? 1);
  const rules: LiveRule[] = [];
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();

  function pick(method: string, path: string, body: string): LiveRule | null {
    for (const r of rules) {
      if (r.removed || (r.rule.times !== undefined && r.hits >= r.rule.times)) continue;
      if (r.rule.method && r.rule.method.toUpperCase() !== method) continue;
      if (!pathMatches(r.rule.path, path) || (r.rule.bodyMatch && !r.rule.bodyMatch(body))) continue;
      if (r.rule.action.kind === 'hold' && r.released) continue;
      if (r.rule.probability !== undefined && random() >= r.rule.probability) continue;
      r.hits += 1;
      return r;
    }
    return null;
  }

  function forward(
    req: IncomingMessage,
    body: Buffer,
    onResponse: (status: number, headers: IncomingMessage['headers'], payload: Buffer) => void,
    onError: () => void,
  ): () => void {
    const headers = { ...req.headers, host: target.host };
    const up = httpRequest({ hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => onResponse(upRes.statusCode ?? 502, upRes.headers, Buffer.concat(chunks)));
      upRes.on('error', onError);
    });
    up.on('error', onError);
    up.end(body);
    return () => up.destroy();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const live = pick(method, path, body.toString('utf8'));
    const action = live?.rule.action ?? null;
    const entry: ProxyLogEntry = { method, path, fault: action?.kind ?? null, status: null, body: body.toString('utf8') };
    log.push(entry);
    const reply = (status: number, headers: Record<string, string | string[] | undefined>, payload: Buffer | string): void => {
      entry.status = status;
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(payload);
    };
    const passThrough = (delayMs = 0): (() => void) =>
      forward(
        req,
        body,
        (status, headers, payload) => {
          if (delayMs > 0) setTimeout(() => reply(status, headers, payload), delayMs);
          else reply(status, headers, payload);
        },
        () => reply(502, { 'content-type': 'text/plain' }, 'upstream unreachable'),
      );
    switch (action?.kind) {
      case undefined:
        passThrough();
        return;
      case 'drop_request':
        req.socket.destroy();
        return;
      case 'blackhole':
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'status': {
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (action.retryAfter !== undefined) headers['retry-after'] = String(action.retryAfter);
        reply(action.status, headers, action.body ?? `injected ${action.status}`);
        return;
      }
      case 'html200':
        reply(200, { 'content-type': 'text/html' }, HTML);
        return;
      case 'delay':
        if (action.where === 'response') passThrough(action.ms);
        else setTimeout(() => passThrough(), action.ms);
        return;
      case 'drop_response':
        forward(
          req,
          body,
          (status) => {
            entry.status = status;
            req.socket.destroy();
          },
          () => req.socket.destroy(),
        );
        return;
      case 'cut': {
        const cancel = passThrough();
        const timer = setTimeout(() => {
          if (res.headersSent) return;
          cancel();
          if (action.status) reply(action.status, { 'content-type': 'text/plain' }, 'proxy timeout');
          else req.socket.destroy();
        }, action.afterMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'hold':
        live!.held.push(() => passThrough());
        return;
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => req.socket.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    addRule(rule) {
      const live: LiveRule = { rule, hits: 0, held: [], released: false, removed: false };
      rules.push(live);
      return {
        get hits() {
          return live.hits;
        },
        release() {
          live.released = true;
          for (const go of live.held.splice(0)) go();
        },
        remove() {
          live.removed = true;
          for (const go of live.held.splice(0)) go();
        },
      };
    },
    clearRules() {
      for (const r of rules.splice(0)) for (const go of r.held.splice(0)) go();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
