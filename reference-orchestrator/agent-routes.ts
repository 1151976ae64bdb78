/**
 * The agent endpoints of protocol v1 under `/api/v1/agent`: the POST pipeline (auth → Idempotency-Key → body →
 * handler in one SQLite transaction) and the long poll.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AgentRow, Ctx } from './context.js';
import { ProblemError, getAgent, iso, problem } from './context.js';
import { checkBoot, handleHeartbeat, instanceConflict } from './heartbeat.js';
import { parseJsonObject, readBody, sendJson } from './http.js';
import { canonicalJson } from './ids.js';
import { handleLogs } from './logs.js';
import { collectCommands, collectOffers } from './offers.js';
import { agentConfig, compareVersions } from './options.js';
import { handleStatus } from './status.js';
import { authenticate, register, rotate } from './tokens.js';
import type { Waiters } from './waiters.js';
import { heartbeatBody, logsBody, parseBody, registerBody, rotateBody, statusBody } from './wire-schemas.js';

const PREFIX = '/api/v1/agent';

interface Handled {
  status: number;
  body: unknown;
}

function handled(result: Record<string, unknown> | ProblemError): Handled {
  if (result instanceof ProblemError) return { status: result.status, body: result };
  return { status: 200, body: result };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function requireVersion(ctx: Ctx, version: string | undefined): void {
  const min = ctx.opts.minAgentVersion;
  if (min && version && compareVersions(version, min) < 0) {
    throw problem(426, 'agent_upgrade_required', `Agent ${version} is older than the minimum ${min}; upgrade it.`, { min_version: min });
  }
}

/** Creates the request handler for `/api/v1/agent/*`; returns false when the path is not an agent route. */
export function createAgentApi(ctx: Ctx, waiters: Waiters): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  const inFlight = new Set<string>();
  const delivered = new Map<string, number>();

  /** The POST pipeline: Idempotency-Key (§4), body, one transaction around record + effect. */
  async function post(
    req: IncomingMessage,
    res: ServerResponse,
    scope: string,
    keyRequired: boolean,
    run: (body: Record<string, unknown>) => Handled,
  ): Promise<void> {
    const key = header(req, 'idempotency-key');
    if (keyRequired && !key) throw problem(400, 'idempotency_key_missing', 'Send an Idempotency-Key header (see §4 for the deterministic format).');
    const slot = key ? `${scope}|${key}` : null;
    if (slot && inFlight.has(slot)) {
      throw problem(409, 'idempotency_in_flight', 'A request with this Idempotency-Key is still being processed; retry shortly.');
    }
    if (slot) inFlight.add(slot);
    try {
      const body = parseJsonObject(await readBody(req, ctx.opts.maxBodyBytes, ctx.opts.maxDecodedBytes));
      const hash = createHash('sha256')
        .update(`${req.method} ${req.url?.split('?')[0]}\n${canonicalJson(body)}`)
        .digest('hex');
      const out = ctx.db.transaction(() => {
        if (key) {
          const rec = ctx.db
            .prepare<[string, string], { request_hash: string }>('SELECT request_hash FROM idempotency WHERE scope = ? AND key = ?')
            .get(scope, key);
          if (rec && rec.request_hash !== hash) {
            throw problem(422, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different body.');
          }
          const result = run(body);
          // Replays are answered from the data model (duplicate/stale/ack_seq, or a re-run of register/rotate), so
          // the record only guards key reuse; errors are not recorded so a retry after a 409 log_gap works.
          if (!rec && result.status < 300) {
            ctx.db
              .prepare('INSERT INTO idempotency (scope, key, request_hash, status, created_at) VALUES (?, ?, ?, ?, ?)')
              .run(scope, key, hash, result.status, ctx.clock.now());
          }
          return result;
        }
        return run(body);
      })();
      if (out.body instanceof ProblemError) throw out.body;
      sendJson(res, out.status, out.body, ctx.clock.now());
    } finally {
      if (slot) inFlight.delete(slot);
    }
  }

  async function poll(req: IncomingMessage, res: ServerResponse, url: URL, agent: AgentRow, tokenId: string): Promise<void> {
    requireVersion(ctx, header(req, 'agent-version'));
    if (!checkBoot(ctx, agent, header(req, 'agent-boot-id'), false)) throw instanceConflict();
    const num = (name: string, dflt: number, max: number): number => {
      const raw = url.searchParams.get(name);
      if (raw === null || raw === '') return dflt;
      if (!/^\d+$/.test(raw)) {
        throw problem(400, 'invalid_request', `Query parameter "${name}" must be a non-negative integer.`, {
          errors: [{ field: name, message: 'not an integer' }],
        });
      }
      return Math.min(Number(raw), max);
    };
    const waitS = num('wait', ctx.opts.pollWaitMaxS, ctx.opts.pollWaitMaxS);
    const capacity = num('capacity', 1, 100);
    const deadline = performance.now() + waitS * 1000;
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    for (;;) {
      const fresh = getAgent(ctx, agent.id) ?? agent;
      const tasks = collectOffers(ctx, fresh, capacity);
      const commands = collectCommands(ctx, fresh, tokenId);
      const t = performance.now();
      // Level-triggered commands are repeated, but one already delivered does not by itself end every poll at once.
      const fresh0 = commands.filter((c) => t - (delivered.get(`${agent.id}|${c.key}`) ?? -Infinity) >= ctx.opts.commandRedeliverS * 1000);
      if (tasks.length > 0 || fresh0.length > 0) {
        for (const c of commands) delivered.set(`${agent.id}|${c.key}`, t);
        sendJson(res, 200, { server_time: iso(ctx.clock.now()), tasks, commands: commands.map((c) => c.command) }, ctx.clock.now());
        return;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0 || closed.signal.aborted) break;
      await waiters.wait(agent.id, remaining, closed.signal);
      if (closed.signal.aborted) return;
    }
    sendJson(res, 204, undefined, ctx.clock.now());
  }

  return async (req, res, url) => {
    const path = url.pathname;
    if (!path.startsWith(`${PREFIX}/`)) return false;
    const route = path.slice(PREFIX.length);
    const auth = header(req, 'authorization');
    const method = req.method ?? 'GET';
    const only = (m: string): void => {
      if (method !== m) throw problem(405, 'method_not_allowed', `Use ${m} for ${path}.`);
    };
    if (route === '/register') {
      only('POST');
      const enrollmentId = /^Bearer\s+bke_([^.\s]+)/i.exec(auth ?? '')?.[1] ?? 'unknown';
      await post(req, res, `enr:${enrollmentId}`, true, (raw) => {
        const body = parseBody(registerBody, raw);
        requireVersion(ctx, body.agent_version ?? header(req, 'agent-version'));
        const r = register(ctx, auth, body);
        return {
          status: r.status,
          body: {
            agent_id: r.agentId,
            ...r.minted,
            server_time: iso(ctx.clock.now()),
            protocol: { min: 1, max: 1 },
            config: agentConfig(ctx.opts),
          },
        };
      });
      return true;
    }
    const statusMatch = /^\/tasks\/([^/]+)\/status$/.exec(route);
    const known = ['/token/rotate', '/heartbeat', '/tasks', '/logs'].includes(route) || statusMatch !== null;
    if (!known) return false;
    if (route === '/tasks') only('GET');
    else only('POST');
    const { agent, token } = authenticate(ctx, auth, route === '/token/rotate');
    const scope = `agt:${agent.id}`;
    if (route === '/token/rotate') {
      await post(req, res, scope, true, (raw) => {
        parseBody(rotateBody, raw);
        return { status: 200, body: rotate(ctx, agent) };
      });
    } else if (route === '/heartbeat') {
      await post(req, res, scope, false, (raw) =>
        handled(handleHeartbeat(ctx, getAgent(ctx, agent.id)!, token.id, parseBody(heartbeatBody, raw), header(req, 'agent-boot-id'))),
      );
    } else if (route === '/logs') {
      await post(req, res, scope, true, (raw) => ({
        status: 200,
        body: handleLogs(ctx, agent, parseBody(logsBody, raw), header(req, 'agent-boot-id')),
      }));
    } else if (statusMatch) {
      const taskId = decodeURIComponent(statusMatch[1]!);
      await post(req, res, scope, true, (raw) => ({
        status: 200,
        body: handleStatus(ctx, getAgent(ctx, agent.id)!, taskId, parseBody(statusBody, raw), raw),
      }));
    } else {
      await poll(req, res, url, agent, token.id);
    }
    return true;
  };
}
