/**
 * The reference orchestrator: protocol v1 agent endpoints (`/api/v1/agent/*`) plus an operator API (`/admin/*`) on
 * one node:http server, state in SQLite so it can be killed and restarted mid-flight.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { openStateDb } from '../src/main/core/state/db.js';
import { adminOps } from './admin-ops.js';
import type { AdminOps } from './admin-ops.js';
import { createAdminApi } from './admin-routes.js';
import { createAgentApi } from './agent-routes.js';
import type { Ctx } from './context.js';
import { problem } from './context.js';
import { assignRequestId, sendProblem } from './http.js';
import { applyFailoverGrace, sweep } from './lifecycle.js';
import type { Clock, OrchestratorOptions } from './options.js';
import { DEFAULT_OPTIONS, systemClock } from './options.js';
import { ORCHESTRATOR_MIGRATIONS } from './schema.js';
import { Waiters } from './waiters.js';

/** Arguments of `createOrchestrator`. */
export interface CreateOrchestratorArgs {
  dbFile: string;
  clock?: Clock;
  options?: Partial<OrchestratorOptions>;
}

/** A running (or ready to listen) orchestrator. */
export interface Orchestrator {
  /** The admin bearer token (given or generated). */
  readonly adminToken: string;
  readonly options: OrchestratorOptions;
  /** Operator actions without HTTP (same as `/admin/*`). */
  readonly admin: AdminOps;
  listen(port?: number, host?: string): Promise<{ url: string; port: number }>;
  /** Runs the time-driven transitions now (offer/lease expiry, lost_after, retries) and wakes polls. */
  sweep(): void;
  /** Stops listening, drops open connections (parked polls included) and closes the database. */
  close(): Promise<void>;
}

/** Opens (or creates) the state in `dbFile` and prepares the HTTP server. */
export function createOrchestrator(args: CreateOrchestratorArgs): Orchestrator {
  const clock = args.clock ?? systemClock;
  const opts: OrchestratorOptions = {
    ...DEFAULT_OPTIONS,
    adminToken: args.options?.adminToken ?? `adm_${randomBytes(24).toString('base64url')}`,
    ...args.options,
  } as OrchestratorOptions;
  const db = openStateDb(args.dbFile, ORCHESTRATOR_MIGRATIONS);
  const waiters = new Waiters();
  const ctx: Ctx = { db, clock, opts, startedAt: clock.now(), notify: (id) => waiters.notify(id) };
  applyFailoverGrace(ctx);
  const ops = adminOps(ctx);
  const agentApi = createAgentApi(ctx, waiters);
  const adminApi = createAdminApi(ctx, ops);
  const runSweep = (): void => {
    sweep(ctx);
    waiters.notify(null);
  };

  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    assignRequestId(req, res);
    const url = new URL(req.url ?? '/', 'http://orchestrator.invalid');
    void (async () => {
      try {
        sweep(ctx);
        if (await agentApi(req, res, url)) return;
        if (await adminApi(req, res, url)) return;
        throw problem(404, 'not_found', `No route ${req.method ?? ''} ${url.pathname}.`);
      } catch (err) {
        if (closed) return; // shutting down: the socket is gone anyway
        sendProblem(res, err, clock.now());
      }
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  return {
    adminToken: opts.adminToken,
    options: opts,
    admin: ops,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          if (opts.sweepIntervalMs > 0) {
            timer = setInterval(runSweep, opts.sweepIntervalMs);
            timer.unref();
          }
          const addr = server.address() as AddressInfo;
          const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          resolve({ url: `http://${h}:${addr.port}`, port: addr.port });
        });
      });
    },
    sweep: runSweep,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        if (!server.listening) resolve();
      });
      db.close();
    },
  };
}
