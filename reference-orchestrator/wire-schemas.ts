/**
 * zod schemas of the agent → orchestrator request bodies. Unknown fields are ignored (tolerant reader, §2.6); a
 * field of the wrong type is a `400 invalid_request` naming the field.
 */
import { z } from 'zod';
import { problem } from './context.js';

const seq = z.number().int().min(0);

export const registerBody = z.object({
  instance_id: z.string().min(1).max(200),
  hostname: z.string().max(255).optional(),
  machine_fingerprint: z.string().max(200).optional(),
  os: z.record(z.string(), z.unknown()).optional(),
  agent_version: z.string().max(50).optional(),
  protocol: z.number().int().optional(),
  restic_version: z.string().max(50).optional(),
  capabilities: z.array(z.string().max(100)).max(200).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  max_concurrent_tasks: z.number().int().min(0).optional(),
});
export type RegisterBody = z.infer<typeof registerBody>;

export const rotateBody = z.object({ reason: z.string().max(100).optional() });

export const heartbeatBody = z.object({
  seq: seq.optional(),
  boot_id: z.string().max(200).optional(),
  sent_at: z.string().max(64).optional(),
  state: z.string().max(32).optional(),
  final: z.boolean().optional(),
  running: z
    .array(
      z.object({
        task_id: z.string().max(200),
        lease_id: z.string().max(200),
        attempt: z.number().int().optional(),
        state: z.string().max(32).optional(),
        status_seq: seq.optional(),
        log_seq: seq.optional(),
      }),
    )
    .max(1000)
    .optional(),
  connectivity: z.object({ orchestrator_rtt_ms: z.number().min(0).optional() }).optional(),
});
export type HeartbeatBody = z.infer<typeof heartbeatBody>;

export const statusBody = z.object({
  lease_id: z.string().min(1).max(200),
  attempt: z.number().int().min(1).optional(),
  status_seq: z.number().int().min(1),
  state: z.string().min(1).max(32),
  log_seq: seq.nullable().optional(),
  log_final: z.boolean().optional(),
  result: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type StatusBody = z.infer<typeof statusBody>;

export const logsBody = z.object({
  stream: z.object({
    kind: z.enum(['task', 'agent']),
    task_id: z.string().max(200).optional(),
    lease_id: z.string().max(200).optional(),
    boot_id: z.string().max(200).optional(),
    stream_id: z.string().max(220).optional(),
  }),
  first_seq: z.number().int().min(1),
  entries: z.array(z.object({ seq: z.number().int().min(1) }).loose()).max(100_000),
  final: z.boolean().optional(),
});
export type LogsBody = z.infer<typeof logsBody>;

/** Parses `value` with `schema` or throws a `400 invalid_request` listing the offending fields. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const errors = r.error.issues.slice(0, 20).map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  const first = errors[0]!;
  throw problem(400, 'invalid_request', `Invalid field "${first.field}": ${first.message}.`, { errors });
}
