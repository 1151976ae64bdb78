/**
 * A small, strict protocol-v1 orchestrator written from the spec (not the reference orchestrator): register,
 * heartbeat and an empty long poll. It records every request with its headers and notes every §2.2 violation.
 * Plain HTTP on loopback, or HTTPS with a given key/cert.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly t: number;
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface StrictV1Server {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** §2.2 violations: `<method> <path>: missing <header>`. */
  readonly violations: string[];
  /** Agent tokens this server accepts (register adds one). */
  readonly agentTokens: Set<string>;
  /** Enrollment tokens it accepts on /register. */
  readonly enrollmentTokens: Set<string>;
  close(): Promise<void>;
}

const REQUIRED = ['user-agent', 'agent-version', 'agent-protocol', 'agent-boot-id', 'x-request-id'];

export async function startStrictV1(opts: { tls?: { key: Buffer; cert: Buffer }; tunables?: Record<string, number> } = {}): Promise<StrictV1Server> {
  const requests: SeenRequest[] = [];
  const violations: string[] = [];
  const agentTokens = new Set<string>();
  const enrollmentTokens = new Set<string>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      const auth = req.headers.authorization ?? null;
      requests.push({ t: Date.now(), method, path, authorization: auth, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const h of REQUIRED) if (!req.headers[h]) violations.push(`${method} ${path}: missing ${h}`);
      if (method === 'POST' && path !== '/api/v1/agent/heartbeat' && !req.headers['idempotency-key'])
        violations.push(`${method} ${path}: missing idempotency-key`);
      const problem = (status: number, code: string) => {
        res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status, code, detail: code }));
      };
      if (!path.startsWith('/api/v1/agent/')) {
        violations.push(`${method} ${path}: not a protocol-v1 route`);
        return problem(404, 'not_found');
      }
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : null;
      if (path === '/api/v1/agent/register' && method === 'POST') {
        if (!bearer || !enrollmentTokens.has(bearer)) return problem(401, 'token_invalid');
        const token = `bka_${randomUUID().replace(/-/g, '')}`;
        agentTokens.add(token);
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ agent_id: `agt_${randomUUID()}`, agent_token: token, config: opts.tunables ?? {} }));
        return;
      }
      if (!bearer || !agentTokens.has(bearer)) return problem(401, 'token_invalid');
      if (path === '/api/v1/agent/heartbeat' && method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server_time: new Date().toISOString(), tasks: [] }));
        return;
      }
      if (path === '/api/v1/agent/tasks' && method === 'GET') {
        setTimeout(() => res.writeHead(204).end(), 300);
        return;
      }
      problem(404, 'not_found');
    });
  };
  const server: Server = opts.tls ? createHttps({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createHttp(handler);
  server.keepAliveTimeout = 500;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    violations,
    agentTokens,
    enrollmentTokens,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
