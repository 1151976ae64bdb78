import { z } from 'zod';

/**
 * zod schemas for what the restic-monitor server sends (docs/spec/restic-monitor-api.md §1). Objects are tolerant
 * (unknown keys are dropped, not rejected); integers must be integers.
 */

const uuid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');
/** Go `time.Time`: RFC 3339 with optional fractional nanoseconds and `Z` or an offset. */
const goTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/, 'must be an RFC 3339 time');

/** `POST /agents/register` → 200/201. */
export const RegisterResponse = z.object({
  agentId: uuid,
  hostname: z.string().optional(),
  registeredAt: goTime.optional(),
  updatedAt: goTime.optional(),
  message: z.string().optional(),
});
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** `POST /agents/{id}/heartbeat` → 200 (the interval is hard-coded to 30 upstream; tolerate anything sane). */
export const HeartbeatResponse = z.object({
  status: z.string(),
  nextTaskCheckAfterSeconds: z.int().min(0).optional(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

/** `POST …/ack` → 200. */
export const AckResponse = z.object({ status: z.string(), message: z.string().optional() });

/** `POST /agents/{id}/task-results` → 200. */
export const ResultResponse = z.object({ status: z.string() });

const retentionValue = z.union([z.int().positive(), z.string()]);

/** One task as `GET /agents/{id}/tasks` returns it (embedded `store.Task`, snake_case). */
export const WireTask = z.object({
  id: uuid,
  policy_id: uuid,
  agent_id: uuid.optional(),
  tenant_id: z.string().optional(),
  task_type: z.string().min(1),
  status: z.string().optional(),
  repository: z.string().min(1, 'repository must not be empty'),
  // `{"paths":[…]}`; tolerate a bare array too.
  include_paths: z.union([z.object({ paths: z.array(z.string()).nullish() }), z.array(z.string())]).nullish(),
  // Upstream writes `{"patterns":[…]}`; read `paths` or a bare array as well (docs/spec/restic-monitor-api.md §1.9).
  exclude_paths: z.union([z.object({ patterns: z.array(z.string()).nullish(), paths: z.array(z.string()).nullish() }), z.array(z.string())]).nullish(),
  retention: z.record(z.string(), retentionValue.nullable()).nullish(),
  execution_params: z.record(z.string(), z.unknown()).nullish(),
  scheduled_for: goTime.nullish(),
  next_retry_at: goTime.nullish(),
  retry_count: z.int().min(0).nullish(),
  max_retries: z.int().min(0).nullish(),
  retries_remaining: z.int().nullish(),
  last_error_category: z.string().nullish(),
  created_at: goTime.optional(),
});
export type WireTask = z.infer<typeof WireTask>;

/**
 * `GET /agents/{id}/tasks` → 200 `{"tasks":[…]}`. Items stay `unknown` here: each is validated on its own so one
 * bad task cannot hide the others (the upstream Go agent's bug).
 */
export const TasksResponse = z.object({ tasks: z.array(z.unknown()).nullable() });

/** Error body shape (a) and (c): `{"error": string, "details"?: string}`. */
export const JsonErrorBody = z.object({ error: z.string(), details: z.string().optional() });
export type JsonErrorBody = z.infer<typeof JsonErrorBody>;
