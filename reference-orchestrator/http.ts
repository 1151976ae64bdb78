/** HTTP plumbing shared by the agent and admin routes: bodies (size limit, gzip), JSON, problem responses (§2.3, §2.4). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { ProblemError, problem } from './context.js';

const gunzipAsync = promisify(gunzip);

/** The `type` URI of a problem code, e.g. `log_gap` → `…/errors/log-gap`. */
export function problemType(code: string): string {
  return `https://restic-agent.invalid/errors/${code.replace(/_/g, '-')}`;
}

/** Sends a JSON body with the common response headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, nowMs: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { 'Content-Type': headers['Content-Type'] ?? 'application/json' }),
    'Content-Length': Buffer.byteLength(text),
    'X-Server-Time': new Date(nowMs).toISOString(),
    'X-Request-Id': String(res.getHeader('X-Request-Id') ?? ''),
    ...headers,
  });
  res.end(text);
}

/** Sends an RFC 9457 problem document for `err` (anything that is not a `ProblemError` is a 500). */
export function sendProblem(res: ServerResponse, err: unknown, nowMs: number): void {
  const p = err instanceof ProblemError ? err : problem(500, 'internal_error', 'Unexpected server error; retry later.');
  if (!(err instanceof ProblemError)) console.error('[orchestrator] internal error:', err);
  const body = { type: problemType(p.code), title: p.code.replace(/_/g, ' '), status: p.status, code: p.code, detail: p.message, ...p.extra };
  sendJson(res, p.status, body, nowMs, { 'Content-Type': 'application/problem+json', ...p.headers });
}

/** Echoes `X-Request-Id` or assigns one. */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): void {
  const given = req.headers['x-request-id'];
  res.setHeader('X-Request-Id', typeof given === 'string' && given.length <= 200 ? given : randomUUID());
}

/** Reads the request body: at most `maxBytes` on the wire, gunzipped (`Content-Encoding: gzip`) to at most `maxDecoded`. */
export async function readBody(req: IncomingMessage, maxBytes: number, maxDecoded: number): Promise<Buffer> {
  const tooLarge = (): ProblemError =>
    problem(413, 'payload_too_large', `The request body exceeds ${maxBytes} bytes (${maxDecoded} decoded); split it.`, { max_batch_bytes: maxBytes });
  const declared = Number(req.headers['content-length'] ?? '0');
  // An oversized body is drained (not torn down) so the client reads the 413 instead of a connection reset.
  const hardCap = Math.max(maxBytes * 8, 64 * 1024 * 1024);
  if (declared > hardCap) {
    req.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  const size = await new Promise<number>((resolve, reject) => {
    let n = 0;
    req.on('data', (chunk: Buffer) => {
      n += chunk.length;
      if (n <= maxBytes) chunks.push(chunk);
      else if (n > hardCap) req.destroy();
    });
    req.on('end', () => resolve(n));
    req.on('error', reject);
    req.on('close', () => resolve(n));
  });
  if (size > maxBytes) throw tooLarge();
  if (!req.complete) throw problem(400, 'incomplete_body', 'The request body ended early.');
  const raw = Buffer.concat(chunks);
  const enc = String(req.headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (enc === 'identity' || enc === '') return raw;
  if (enc !== 'gzip') throw problem(415, 'unsupported_encoding', `Content-Encoding "${enc}" is not supported; use gzip or none.`);
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxDecoded });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw problem(400, 'invalid_encoding', 'The gzip body could not be decompressed.');
  }
}

/** Parses a JSON object body or throws `400 invalid_json`. */
export function parseJsonObject(buf: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch {
    throw problem(400, 'invalid_json', 'The body is not valid JSON.');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw problem(400, 'invalid_json', 'The body must be a JSON object.');
  return value as Record<string, unknown>;
}
