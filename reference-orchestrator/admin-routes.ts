/** The operator API under `/admin/*`, guarded by the admin bearer token. JSON in, JSON out, problem+json errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Ctx } from './context.js';
import { problem } from './context.js';
import type { AdminOps } from './admin-ops.js';
import { parseJsonObject, readBody, sendJson } from './http.js';
import { sweep } from './lifecycle.js';
import type { EnrollmentSpec } from './tokens.js';

function authorised(req: IncomingMessage, adminToken: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]!);
  const b = Buffer.from(adminToken);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates the `/admin/*` handler; returns false when the path is not an admin route. */
export function createAdminApi(ctx: Ctx, ops: AdminOps): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  return async (req, res, url) => {
    if (!url.pathname.startsWith('/admin/')) return false;
    if (!authorised(req, ctx.opts.adminToken)) throw problem(401, 'admin_unauthorized', 'Send "Authorization: Bearer <admin token>".');
    const parts = url.pathname.split('/').slice(2).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const body = async (): Promise<Record<string, unknown>> => {
      const buf = await readBody(req, ctx.opts.maxBodyBytes, ctx.opts.maxDecodedBytes);
      return buf.length === 0 ? {} : parseJsonObject(buf);
    };
    const send = (status: number, value: unknown): boolean => {
      sendJson(res, status, value, ctx.clock.now());
      return true;
    };
    ctx.db.transaction(() => sweep(ctx))();
    const [a, b, c] = parts;
    if (a === 'enrollment-tokens' && !b && method === 'POST') return send(201, ops.createEnrollmentToken((await body()) as EnrollmentSpec));
    if (a === 'enrollment-tokens' && b && method === 'DELETE') return send(200, ops.revokeEnrollmentToken(b));
    if (a === 'agents' && !b && method === 'GET') return send(200, ops.listAgents());
    if (a === 'agents' && b && !c && method === 'GET') return send(200, ops.getAgent(b));
    if (a === 'agents' && b && c && method === 'POST') return send(200, ops.agentAction(b, c));
    if (a === 'tasks' && !b && method === 'POST') return send(201, ops.createTask(await body()));
    if (a === 'tasks' && !b && method === 'GET') return send(200, ops.listTasks(url.searchParams.get('agent_id') ?? undefined));
    if (a === 'tasks' && b && !c && method === 'GET') return send(200, ops.getTask(b));
    if (a === 'tasks' && b && !c && method === 'DELETE') return send(200, ops.deleteTask(b));
    if (a === 'tasks' && b && c === 'cancel' && method === 'POST') {
      const reason = (await body()).reason;
      return send(200, ops.cancelTask(b, typeof reason === 'string' ? reason : undefined));
    }
    if (a === 'tasks' && b && c === 'logs' && method === 'GET') return send(200, ops.getLogs(b));
    if (a === 'events' && method === 'GET') return send(200, ops.listEvents());
    if (a === 'sweep' && method === 'POST') return send(200, { swept: true });
    throw problem(404, 'not_found', `No admin route ${method} ${url.pathname}.`);
  };
}
