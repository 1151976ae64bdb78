import { z } from 'zod';

/**
 * zod schemas for every orchestrator response (protocol v1). Unknown fields are stripped (tolerant reader,
 * spec §2.6); items whose meaning depends on their kind (tasks, commands) are validated one by one so a bad
 * item cannot poison the whole response.
 */

const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative().finite();

/** The tunables object; every field optional (register, heartbeat `config`, `update_config`). */
export const TunablesPatchSchema = z.object({
  heartbeat_interval_s: seconds.min(1).optional(),
  poll_wait_max_s: seconds.max(50).optional(),
  lease_ttl_s: seconds.optional(),
  offer_ttl_s: seconds.optional(),
  progress_interval_s: seconds.optional(),
  log_flush_interval_ms: seconds.optional(),
  log_batch_max_lines: count.min(1).optional(),
  log_batch_max_bytes: count.min(1024).optional(),
  log_max_bytes_per_task: count.optional(),
  spool_max_bytes: count.optional(),
  drain_max_rps: z.number().positive().finite().optional(),
});

/** `POST /register` → 201/200. */
export const RegisterResponseSchema = z.object({
  agent_id: z.string().min(1).max(200),
  token_id: z.string().max(200).optional(),
  agent_token: z.string().min(8).max(4096),
  token_expires_in_s: seconds.optional(),
  token_rotate_after_s: seconds.optional(),
  server_time: z.string().optional(),
  protocol: z.object({ min: count, max: count }).optional(),
  config: TunablesPatchSchema.optional(),
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/** `POST /token/rotate` → 200. */
export const RotateResponseSchema = z.object({
  token_id: z.string().max(200).optional(),
  agent_token: z.string().min(8).max(4096),
  token_expires_in_s: seconds.optional(),
  token_rotate_after_s: seconds.optional(),
  previous_token_valid_for_s: seconds.optional(),
});
export type RotateResponse = z.infer<typeof RotateResponseSchema>;

/** `POST /heartbeat` → 200. */
export const HeartbeatResponseSchema = z.object({
  server_time: z.string().optional(),
  next_heartbeat_s: seconds.min(1).optional(),
  clock_skew_ms: z.number().finite().optional(),
  tasks: z
    .array(
      z.object({
        task_id: z.string(),
        lease_id: z.string(),
        lease_expires_in_s: seconds.optional(),
        // Unknown directives are kept as strings and ignored by the agent.
        directive: z.string(),
      }),
    )
    .default([]),
  token: z.object({ rotate: z.boolean().default(false), expires_in_s: seconds.optional() }).optional(),
  config: TunablesPatchSchema.optional(),
  upgrade: z
    .object({ min_version: z.string().optional(), recommended_version: z.string().optional() })
    .optional(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/** `GET /tasks` → 200 (items validated separately). */
export const PollResponseSchema = z.object({
  server_time: z.string().optional(),
  tasks: z.array(z.unknown()).max(100).default([]),
  commands: z.array(z.unknown()).max(100).default([]),
});

/** One command of a poll response; anything else is ignored and logged (spec §2.6). */
export const CommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel'), task_id: z.string(), lease_id: z.string().optional(), reason: z.string().optional() }),
  z.object({ type: z.literal('rotate_token') }),
  z.object({ type: z.literal('drain') }),
  z.object({ type: z.literal('update_config'), config: TunablesPatchSchema }),
]);
export type Command = z.infer<typeof CommandSchema>;

/** `POST /tasks/{id}/status` → 200. */
export const StatusResponseSchema = z.object({
  applied: z.boolean().default(false),
  duplicate: z.boolean().default(false),
  stale: z.boolean().default(false),
  superseded: z.boolean().default(false),
  task_state: z.string().optional(),
  lease_expires_in_s: seconds.optional(),
  cancel_requested: z.boolean().default(false),
  directive: z.string().optional(),
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

/** `POST /logs` → 200. */
export const LogsResponseSchema = z.object({
  ack_seq: count,
  cancel_requested: z.boolean().default(false),
  max_batch_bytes: count.optional(),
  truncated: z.boolean().default(false),
});
export type LogsResponse = z.infer<typeof LogsResponseSchema>;

/** RFC 9457 problem body with the protocol's extension members. */
export const ProblemSchema = z.object({
  type: z.string().optional(),
  status: z.number().optional(),
  code: z.string().optional(),
  detail: z.string().optional(),
  expected_seq: count.optional(),
  min_version: z.string().optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;
