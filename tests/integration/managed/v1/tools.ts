import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { request } from 'undici';
import type { Logger } from '../../../../src/main/core/log/logger.js';
import { MemorySecretStore } from '../../../../src/main/core/secrets/memory-store.js';
import { openStateDb, type StateDb } from '../../../../src/main/core/state/db.js';
import { enroll } from '../../../../src/main/core/managed/v1/enrollment.js';
import { ManagedAgent, type ManagedAgentOptions } from '../../../../src/main/core/managed/v1/agent.js';
import { orchestratorMigrations } from '../../../../src/main/core/managed/v1/outbox.js';
import { tempDir } from '../../../helpers/tmp.js';
import type { World } from './harness.js';

/** One request/response seen by the recorder. */
export interface Recorded {
  t: number;
  method: string;
  path: string;
  req: string;
  status: number;
  res: string;
}

/** A pass-through HTTP hop that records request and response bodies (the fault proxy only records requests). */
export interface Recorder {
  readonly url: string;
  readonly log: Recorded[];
  close(): Promise<void>;
}

/** Starts a recorder in front of `target` (same port across orchestrator restarts). */
export async function createRecorder(target: string): Promise<Recorder> {
  const to = new URL(target);
  const log: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = httpRequest(
        { hostname: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on('data', (c: Buffer) => out.push(c));
          upRes.on('end', () => {
            const payload = Buffer.concat(out);
            log.push({
              t: Date.now(),
              method: req.method ?? 'GET',
              path: (req.url ?? '/').split('?')[0]!,
              req: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'),
              status: upRes.statusCode ?? 0,
              res: payload.toString('utf8'),
            });
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            res.end(payload);
          });
        },
      );
      up.on('error', () => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('upstream unreachable');
      });
      up.end(body);
    });
  });
  server.keepAliveTimeout = 500;
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A logger that keeps every line (level + message) for assertions. */
export function captureLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  const log = { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), forRun: () => log };
  return log;
}

/** A second agent (own state DB and key store) on the same orchestrator and fake repository as `w`. */
export async function addAgent(
  w: World,
  opts: { url?: string; over?: Partial<ManagedAgentOptions> } = {},
): Promise<{ agent: ManagedAgent; db: StateDb; agentId: string; secrets: MemorySecretStore }> {
  const url = opts.url ?? w.orch.url;
  const db = openStateDb(join(tempDir('rma-agent2-'), 'state.db'), orchestratorMigrations);
  const secrets = new MemorySecretStore();
  const et = await w.orch.admin.createEnrollmentToken({});
  const { agentId } = await enroll({ url, enrollmentToken: et.token, insecureLoopback: true, secrets, db, agentVersion: '0.1.0', hostname: 'second-host' });
  const agent = new ManagedAgent({
    url,
    insecureLoopback: true,
    db,
    secrets,
    executor: w.executor,
    agentVersion: '0.1.0',
    startupStaggerMs: 0,
    failpoint: () => {},
    ...opts.over,
  });
  await agent.start();
  return { agent, db, agentId, secrets };
}

/** A raw authenticated call to the agent API (replays, stolen tokens). */
export async function agentCall(
  base: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`${base}/api/v1/agent${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
