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
  heartbeat_interval_s: seconds.min(1).nullish(),
  poll_wait_max_s: seconds.max(50).nullish(),
  lease_ttl_s: seconds.nullish(),
  offer_ttl_s: seconds.nullish(),
  progress_interval_s: seconds.nullish(),
  log_flush_interval_ms: seconds.nullish(),
  log_batch_max_lines: count.min(1).nullish(),
  log_batch_max_bytes: count.min(1024).nullish(),
  log_max_bytes_per_task: count.nullish(),
  spool_max_bytes: count.nullish(),
  drain_max_rps: z.number().positive().finite().nullish(),
});

/** `POST /register` → 201/200. */
export const RegisterResponseSchema = z.object({
  agent_id: z.string().min(1).max(200),
  token_id: z.string().max(200).nullish(),
  agent_token: z.string().min(8).max(4096),
  token_expires_in_s: seconds.nullish(),
  token_rotate_after_s: seconds.nullish(),
  server_time: z.string().nullish(),
  protocol: z.object({ min: count, max: count }).nullish(),
  config: TunablesPatchSchema.nullish(),
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/** `POST /token/rotate` → 200. */
export const RotateResponseSchema = z.object({
  token_id: z.string().max(200).nullish(),
  agent_token: z.string().min(8).max(4096),
  token_expires_in_s: seconds.nullish(),
  token_rotate_after_s: seconds.nullish(),
  previous_token_valid_for_s: seconds.nullish(),
});
export type RotateResponse = z.infer<typeof RotateResponseSchema>;

/** `POST /heartbeat` → 200. */
export const HeartbeatResponseSchema = z.object({
  server_time: z.string().nullish(),
  next_heartbeat_s: seconds.min(1).nullish(),
  clock_skew_ms: z.number().finite().nullish(),
  tasks: z
    .array(
      z.object({
        task_id: z.string(),
        lease_id: z.string(),
        lease_expires_in_s: seconds.nullish(),
        // Unknown directives are kept as strings and ignored by the agent.
        directive: z.string(),
      }),
    )
    .default([]),
  token: z.object({ rotate: z.boolean().default(false), expires_in_s: seconds.nullish() }).nullish(),
  config: TunablesPatchSchema.nullish(),
  upgrade: z.object({ min_version: z.string().nullish(), recommended_version: z.string().nullish() }).nullish(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/** `GET /tasks` → 200 (items validated separately). */
export const PollResponseSchema = z.object({
  server_time: z.string().nullish(),
  tasks: z.array(z.unknown()).max(100).default([]),
  commands: z.array(z.unknown()).max(100).default([]),
});

/** One command of a poll response; anything else is ignored and logged (spec §2.6). */
export const CommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel'), task_id: z.string(), lease_id: z.string().nullish(), reason: z.string().nullish() }),
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
  task_state: z.string().nullish(),
  lease_expires_in_s: seconds.nullish(),
  cancel_requested: z.boolean().default(false),
  directive: z.string().nullish(),
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

/** `POST /logs` → 200. */
export const LogsResponseSchema = z.object({
  ack_seq: count,
  cancel_requested: z.boolean().default(false),
  max_batch_bytes: count.nullish(),
  truncated: z.boolean().default(false),
});
export type LogsResponse = z.infer<typeof LogsResponseSchema>;

/** RFC 9457 problem body with the protocol's extension members. */
export const ProblemSchema = z.object({
  type: z.string().nullish(),
  status: z.number().nullish(),
  code: z.string().nullish(),
  detail: z.string().nullish(),
  expected_seq: count.nullish(),
  min_version: z.string().nullish(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/** Drops absent and null members (tolerant reader: null means "not given"). */
export function stripUndefined<T extends object>(o: T): Partial<{ [K in keyof T]: Exclude<T[K], undefined | null> }> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<{ [K in keyof T]: Exclude<T[K], undefined | null> }>;
}
