/**
 * `POST /logs` (§5.6): one stream per request, contiguous seqs, a per-stream high-water mark, `409 log_gap` with the
 * expected seq, a per-task byte cap (`truncated`), and `final`.
 */
import type { AgentRow, Ctx } from './context.js';
import { getLease, getTask, problem } from './context.js';
import type { LogsBody } from './wire-schemas.js';

interface StreamRow {
  stream_id: string;
  hwm: number;
  bytes: number;
  truncated: number;
  dropped: number;
  final: number;
}

/** The 200 body of a log batch. */
export interface LogsReply {
  ack_seq: number;
  cancel_requested: boolean;
  max_batch_bytes: number;
  truncated?: true;
}

/** Appends one batch; runs inside the caller's transaction. */
export function handleLogs(ctx: Ctx, agent: AgentRow, body: LogsBody, bootHeader: string | undefined): LogsReply {
  let streamId: string;
  let taskId: string | null = null;
  let leaseId: string | null = null;
  let cancelRequested = false;
  if (body.stream.kind === 'task') {
    leaseId = body.stream.lease_id ?? null;
    const lease = leaseId ? getLease(ctx, leaseId) : undefined;
    const task = lease ? getTask(ctx, lease.task_id) : undefined;
    if (!lease || !task || lease.agent_id !== agent.id || task.deleted_at !== null || (body.stream.task_id && body.stream.task_id !== task.id)) {
      throw problem(404, 'task_not_found', `No task stream for lease ${leaseId ?? '(missing stream.lease_id)'} on this agent.`);
    }
    streamId = lease.id;
    taskId = task.id;
    cancelRequested = task.cancel_requested_at !== null && !['succeeded', 'failed', 'cancelled', 'timed_out', 'rejected'].includes(lease.agent_state ?? '');
  } else {
    const boot = body.stream.boot_id ?? bootHeader;
    if (!boot)
      throw problem(400, 'invalid_request', 'An agent stream needs "stream.boot_id" (or the Agent-Boot-Id header).', {
        errors: [{ field: 'stream.boot_id', message: 'required' }],
      });
    streamId = `agent:${boot}`;
  }
  for (let i = 0; i < body.entries.length; i++) {
    if (body.entries[i]!.seq !== body.first_seq + i) {
      throw problem(400, 'invalid_request', `entries[${i}].seq must be ${body.first_seq + i}: a batch is contiguous from first_seq.`, {
        errors: [{ field: `entries.${i}.seq`, message: 'not contiguous' }],
      });
    }
  }
  const now = ctx.clock.now();
  ctx.db
    .prepare('INSERT OR IGNORE INTO log_streams (stream_id, agent_id, kind, task_id, lease_id, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(streamId, agent.id, body.stream.kind, taskId, leaseId, now);
  const stream = ctx.db.prepare<[string], StreamRow>('SELECT * FROM log_streams WHERE stream_id = ?').get(streamId)!;
  let { hwm, bytes, dropped } = stream;
  const truncated = stream.truncated === 1;
  if (body.first_seq > hwm + 1 && !truncated) {
    throw problem(409, 'log_gap', `Expected seq ${hwm + 1}, got ${body.first_seq}; resend from there.`, { expected_seq: hwm + 1 });
  }
  const jumped = truncated && body.first_seq > hwm + 1;
  if (jumped) {
    // Past the cap the agent sends only the tail: the skipped lines are counted, not awaited.
    dropped += body.first_seq - hwm - 1;
    hwm = body.first_seq - 1;
  }
  const insert = ctx.db.prepare('INSERT OR IGNORE INTO log_entries (stream_id, seq, entry_json) VALUES (?, ?, ?)');
  let nowTruncated = truncated;
  for (const entry of body.entries) {
    if (entry.seq <= hwm) continue;
    const json = JSON.stringify(entry);
    if (!nowTruncated && body.stream.kind === 'task' && bytes + json.length > ctx.opts.logMaxBytesPerTask) nowTruncated = true;
    if (nowTruncated && !body.final && !jumped) {
      dropped += 1;
    } else {
      insert.run(streamId, entry.seq, json);
      bytes += json.length;
    }
    hwm = entry.seq;
  }
  ctx.db
    .prepare('UPDATE log_streams SET hwm = ?, bytes = ?, truncated = ?, dropped = ?, final = MAX(final, ?) WHERE stream_id = ?')
    .run(hwm, bytes, nowTruncated ? 1 : 0, dropped, body.final ? 1 : 0, streamId);
  const out: LogsReply = { ack_seq: hwm, cancel_requested: cancelRequested, max_batch_bytes: ctx.opts.logBatchMaxBytes };
  if (nowTruncated) out.truncated = true;
  return out;
}
