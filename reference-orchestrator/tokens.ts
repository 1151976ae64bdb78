/**
 * Credentials (§5.1, §5.2, §9.1): enrollment tokens `bke_<id>.<secret>`, agent tokens `bka_<secret>` stored only as
 * SHA-256, registration with its replay rule, and rotation with overlap (pending → active → superseded).
 */
import type { AgentRow, Ctx, TokenRow } from './context.js';
import { getAgent, problem, recordEvent } from './context.js';
import { hashSecret, newId, newSecret, sameHash } from './ids.js';
import type { RegisterBody } from './wire-schemas.js';

/** Options for a new enrollment token. */
export interface EnrollmentSpec {
  ttl_s?: number | undefined;
  max_uses?: number | undefined;
  labels?: Record<string, string> | undefined;
  allowed_types?: string[] | undefined;
  hostname?: string | undefined;
  group?: string | undefined;
}

/** Creates an enrollment token; the plaintext is returned once and never stored. */
export function createEnrollmentToken(ctx: Ctx, spec: EnrollmentSpec): { id: string; token: string; expires_at: string; max_uses: number } {
  const now = ctx.clock.now();
  const id = newId('enr', now);
  const secret = newSecret();
  const expiresAt = now + (spec.ttl_s ?? ctx.opts.enrollmentTtlS) * 1000;
  const maxUses = spec.max_uses ?? 1;
  ctx.db
    .prepare(
      `INSERT INTO enrollment_tokens (id, secret_hash, created_at, expires_at, max_uses, labels_json, allowed_types_json, hostname, grp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      id,
      hashSecret(secret),
      now,
      expiresAt,
      maxUses,
      JSON.stringify(spec.labels ?? {}),
      spec.allowed_types ? JSON.stringify(spec.allowed_types) : null,
      spec.hostname ?? null,
      spec.group ?? null,
    );
  // The token carries the bare ULID: bke_<ulid>.<secret> (§5.1).
  return { id, token: `bke_${id.slice(4)}.${secret}`, expires_at: new Date(expiresAt).toISOString(), max_uses: maxUses };
}

/** A freshly minted agent token (plaintext only in this value). */
export interface MintedToken {
  token_id: string;
  agent_token: string;
  token_expires_in_s: number;
  token_rotate_after_s: number;
}

function mint(ctx: Ctx, agentId: string, state: 'active' | 'pending'): MintedToken {
  const now = ctx.clock.now();
  const id = newId('tok', now);
  const token = `bka_${newSecret()}`;
  ctx.db
    .prepare('INSERT INTO agent_tokens (id, agent_id, hash, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(id, agentId, hashSecret(token), state, now, now + ctx.opts.tokenTtlS * 1000);
  return { token_id: id, agent_token: token, token_expires_in_s: ctx.opts.tokenTtlS, token_rotate_after_s: ctx.opts.tokenRotateAfterS };
}

function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

/** §5.1 register: a new agent (201) or, for a replay of the same instance and enrollment token, the same agent (200). */
export function register(ctx: Ctx, authHeader: string | undefined, body: RegisterBody): { status: number; agentId: string; minted: MintedToken } {
  const raw = bearer(authHeader)?.split('#')[0] ?? '';
  const m = /^bke_([^.]+)\.(.+)$/.exec(raw);
  const invalid = problem(401, 'enrollment_invalid', 'The enrollment token is unknown, expired, used up or revoked; create a new one.');
  if (!m) throw invalid;
  const enr = ctx.db
    .prepare<
      [string],
      {
        id: string;
        secret_hash: string;
        expires_at: number;
        max_uses: number;
        uses: number;
        revoked_at: number | null;
        labels_json: string;
        allowed_types_json: string | null;
        hostname: string | null;
      }
    >('SELECT * FROM enrollment_tokens WHERE id = ?')
    .get(`enr_${m[1]!}`);
  if (!enr || !sameHash(hashSecret(m[2]!), enr.secret_hash) || enr.revoked_at !== null) throw invalid;
  const now = ctx.clock.now();
  const replay = ctx.db
    .prepare<[string, string, number], AgentRow>(
      "SELECT * FROM agents WHERE instance_id = ? AND enrollment_id = ? AND registered_at > ? AND status != 'deleted'",
    )
    .get(body.instance_id, enr.id, now - 86_400_000);
  if (replay) {
    // A lost response is safe: same agent, fresh token, and the never-used earlier token is revoked (§5.1).
    ctx.db
      .prepare("UPDATE agent_tokens SET state = 'revoked', revoked_at = ? WHERE agent_id = ? AND state IN ('active','pending') AND first_used_at IS NULL")
      .run(now, replay.id);
    return { status: 200, agentId: replay.id, minted: mint(ctx, replay.id, 'active') };
  }
  if (now >= enr.expires_at || enr.uses >= enr.max_uses) throw invalid;
  if (enr.hostname !== null && enr.hostname !== body.hostname) {
    throw problem(403, 'enrollment_scope', `This enrollment token is bound to host "${enr.hostname}".`);
  }
  ctx.db.prepare('UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?').run(enr.id);
  const agentId = newId('agt', now);
  const labels = { ...(body.labels ?? {}), ...(JSON.parse(enr.labels_json) as Record<string, string>) };
  const offlineMs = (3 * ctx.opts.heartbeatIntervalS + 15) * 1000;
  const twin = body.machine_fingerprint
    ? ctx.db
        .prepare<[string, number], { id: string }>("SELECT id FROM agents WHERE machine_fingerprint = ? AND status = 'active' AND last_seen > ?")
        .get(body.machine_fingerprint, now - offlineMs)
    : undefined;
  ctx.db
    .prepare(
      `INSERT INTO agents (id, instance_id, enrollment_id, registered_at, hostname, machine_fingerprint, register_json,
         labels_json, capabilities_json, allowed_types_json, agent_version, possible_clone, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      agentId,
      body.instance_id,
      enr.id,
      now,
      body.hostname ?? null,
      body.machine_fingerprint ?? null,
      JSON.stringify(body),
      JSON.stringify(labels),
      JSON.stringify(body.capabilities ?? []),
      enr.allowed_types_json,
      body.agent_version ?? null,
      twin ? 1 : 0,
      now,
    );
  if (twin) recordEvent(ctx, 'possible_clone', agentId, { twin_of: twin.id });
  return { status: 201, agentId, minted: mint(ctx, agentId, 'active') };
}

/** The authenticated caller of an agent endpoint. */
export interface AuthResult {
  agent: AgentRow;
  token: TokenRow;
}

/**
 * Checks an agent token (§3, §5.2). A pending token's first use promotes it and supersedes the old one; the old one is
 * still honoured for `supersededInFlightS`. `allowExpired` (token/rotate only) accepts an expired token within the
 * rotation grace.
 */
export function authenticate(ctx: Ctx, authHeader: string | undefined, allowExpired = false): AuthResult {
  const raw = bearer(authHeader);
  if (!raw || !raw.startsWith('bka_')) throw problem(401, 'token_invalid', 'Send the agent token as "Authorization: Bearer bka_…".');
  const token = ctx.db.prepare<[string], TokenRow>('SELECT * FROM agent_tokens WHERE hash = ?').get(hashSecret(raw));
  if (!token || !sameHash(token.hash, hashSecret(raw))) throw problem(401, 'token_invalid', 'Unknown agent token; re-enroll.');
  const agent = getAgent(ctx, token.agent_id);
  if (!agent || agent.status === 'deleted') throw problem(410, 'agent_deleted', 'This agent was removed; re-enroll.');
  if (agent.status === 'disabled') throw problem(403, 'agent_disabled', 'This agent is disabled by an operator.');
  const now = ctx.clock.now();
  if (token.state === 'revoked') throw problem(401, 'token_revoked', 'This agent token was revoked; re-enroll.');
  if (token.state === 'superseded') {
    if (token.superseded_at !== null && now - token.superseded_at <= ctx.opts.supersededInFlightS * 1000) {
      return touch(ctx, agent, token);
    }
    recordEvent(ctx, 'token_superseded_use', agent.id, { token_id: token.id });
    if (ctx.opts.revokeAllOnSupersededUse) {
      ctx.db.prepare("UPDATE agent_tokens SET state = 'revoked', revoked_at = ? WHERE agent_id = ?").run(now, agent.id);
    }
    throw problem(401, 'token_superseded', 'This token was replaced by a newer one; use the newer token.');
  }
  if (token.state === 'pending') {
    ctx.db.prepare("UPDATE agent_tokens SET state = 'superseded', superseded_at = ? WHERE agent_id = ? AND state = 'active'").run(now, agent.id);
    ctx.db.prepare("UPDATE agent_tokens SET state = 'active', first_used_at = ? WHERE id = ?").run(now, token.id);
    ctx.db.prepare('UPDATE agents SET rotate_requested = 0 WHERE id = ?').run(agent.id);
    return touch(ctx, getAgent(ctx, agent.id)!, { ...token, state: 'active', first_used_at: now });
  }
  const pending = ctx.db
    .prepare<[string], { created_at: number }>("SELECT created_at FROM agent_tokens WHERE agent_id = ? AND state = 'pending' ORDER BY created_at DESC")
    .get(agent.id);
  const overlapEnd = pending ? pending.created_at + ctx.opts.rotationOverlapS * 1000 : Infinity;
  const expiry = Math.min(token.expires_at, overlapEnd);
  if (now >= expiry && !(allowExpired && now < expiry + ctx.opts.rotationGraceS * 1000)) {
    throw problem(401, 'token_expired', 'The agent token expired; call token/rotate with it (within the grace period) or re-enroll.');
  }
  if (token.first_used_at === null) ctx.db.prepare('UPDATE agent_tokens SET first_used_at = ? WHERE id = ?').run(now, token.id);
  return touch(ctx, agent, token);
}

function touch(ctx: Ctx, agent: AgentRow, token: TokenRow): AuthResult {
  const now = ctx.clock.now();
  ctx.db.prepare('UPDATE agents SET last_seen = ?, final_at = NULL WHERE id = ?').run(now, agent.id);
  return { agent: { ...agent, last_seen: now, final_at: null }, token };
}

/** §5.2 rotate: a new pending token; an earlier pending one is revoked (at most one pending). */
export function rotate(ctx: Ctx, agent: AgentRow): MintedToken & { previous_token_valid_for_s: number } {
  const now = ctx.clock.now();
  ctx.db.prepare("UPDATE agent_tokens SET state = 'revoked', revoked_at = ? WHERE agent_id = ? AND state = 'pending'").run(now, agent.id);
  return { ...mint(ctx, agent.id, 'pending'), previous_token_valid_for_s: ctx.opts.rotationOverlapS };
}

/** True when the token in use should be rotated: ⅓ of its life passed, or an operator asked (§5.2 triggers). */
export function rotationDue(ctx: Ctx, agent: AgentRow, tokenId: string): boolean {
  if (agent.rotate_requested) return true;
  const t = ctx.db.prepare<[string], TokenRow>('SELECT * FROM agent_tokens WHERE id = ?').get(tokenId);
  return !!t && ctx.clock.now() >= t.created_at + ctx.opts.tokenRotateAfterS * 1000;
}

/** Seconds until the token in use expires. */
export function tokenExpiresIn(ctx: Ctx, tokenId: string): number {
  const t = ctx.db.prepare<[string], TokenRow>('SELECT * FROM agent_tokens WHERE id = ?').get(tokenId);
  return t ? Math.max(0, Math.floor((t.expires_at - ctx.clock.now()) / 1000)) : 0;
}
