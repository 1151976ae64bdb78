import { afterEach, describe, expect, it } from 'vitest';
import type { ReferenceOrchestrator } from '../../../reference-orchestrator/testing/index.js';
import { call, registerAgent } from './agent-wire.js';
import { startWithClock } from './scenario-helpers.js';

let orch: ReferenceOrchestrator | undefined;
afterEach(async () => {
  await orch?.stop();
  orch = undefined;
});

const DAY = 86_400_000;
const rotate = (o: ReferenceOrchestrator, token: string, key: string) => call(o.url, 'POST', '/token/rotate', { token, key, body: { reason: 'scheduled' } });
const hb = (o: ReferenceOrchestrator, token: string) => call(o.url, 'POST', '/heartbeat', { token, body: { seq: 1 } });

describe('token rotation with overlap (§5.2)', () => {
  it('old token valid until the new one is used; then 5 s in-flight grace; then 401 token_superseded + security event', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    const r = await rotate(orch, a.token, `rot:${a.agentId}:1`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_expires_in_s: 7776000, token_rotate_after_s: 2592000, previous_token_valid_for_s: 604800 });
    expect(r.json.agent_token).toMatch(/^bka_/);
    expect((await hb(orch, a.token)).status).toBe(200); // not used yet: the old one still works
    expect((await hb(orch, r.json.agent_token)).status).toBe(200); // first use promotes the new token
    s.clock.advance(4000);
    expect((await hb(orch, a.token)).status).toBe(200); // in flight during the switch
    s.clock.advance(2000);
    const stale = await hb(orch, a.token);
    expect(stale.status).toBe(401);
    expect(stale.json.code).toBe('token_superseded');
    expect((await hb(orch, r.json.agent_token)).status).toBe(200); // the real agent is unaffected
    expect((await orch.admin.listEvents()).map((e) => e.kind)).toContain('token_superseded_use');
  });

  it('a replayed rotation mints another pending token and revokes the first pending one: no lockout', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    const first = await rotate(orch, a.token, `rot:${a.agentId}:1`);
    const second = await rotate(orch, a.token, `rot:${a.agentId}:1`);
    expect(second.json.token_id).not.toBe(first.json.token_id);
    expect((await hb(orch, first.json.agent_token)).json.code).toBe('token_revoked');
    expect((await hb(orch, a.token)).status).toBe(200);
    expect((await hb(orch, second.json.agent_token)).status).toBe(200);
    const tokens = (await orch.admin.getAgent(a.agentId)).tokens.map((t) => t.state);
    expect(tokens).toEqual(['superseded', 'revoked', 'active']);
  });

  it('expired token: 401 token_expired, rotation with it works within the grace, not after', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    s.clock.advance(91 * DAY);
    const expired = await hb(orch, a.token);
    expect(expired.status).toBe(401);
    expect(expired.json.code).toBe('token_expired');
    const r = await rotate(orch, a.token, `rot:${a.agentId}:1`);
    expect(r.status).toBe(200);
    expect((await hb(orch, r.json.agent_token)).status).toBe(200);

    const b = await registerAgent(orch);
    s.clock.advance(121 * DAY);
    const late = await rotate(orch, b.token, `rot:${b.agentId}:1`);
    expect(late.status).toBe(401);
    expect(late.json.code).toBe('token_expired');
  });

  it('rotation is requested after ⅓ of the lifetime or by an operator, in the heartbeat and as a poll command', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    expect((await a.hb()).json.token).toEqual({ rotate: false, expires_in_s: 7776000 });
    await orch.admin.agentAction(a.agentId, 'rotate-token');
    expect((await a.hb()).json.token.rotate).toBe(true);
    expect((await a.poll(0, 0)).json.commands).toEqual([{ type: 'rotate_token' }]);
    const r = await rotate(orch, a.token, `rot:${a.agentId}:1`);
    a.token = r.json.agent_token;
    expect((await a.hb()).json.token.rotate).toBe(false);
    s.clock.advance(30 * DAY + 1000);
    expect((await a.hb()).json.token.rotate).toBe(true);
  });

  it('an unused new token leaves the old one valid for at most 7 days; then the old one can still rotate', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    await rotate(orch, a.token, `rot:${a.agentId}:1`); // response lost: the agent never sees this token
    s.clock.advance(6 * DAY);
    expect((await hb(orch, a.token)).status).toBe(200);
    s.clock.advance(2 * DAY);
    expect((await hb(orch, a.token)).json.code).toBe('token_expired');
    const again = await rotate(orch, a.token, `rot:${a.agentId}:2`);
    expect(again.status).toBe(200);
    expect((await hb(orch, again.json.agent_token)).status).toBe(200);
  });

  it('revoked tokens, disabled and deleted agents get 401 / 403 / 410', async () => {
    const s = await startWithClock();
    orch = s.orch;
    const a = await registerAgent(orch);
    await orch.admin.agentAction(a.agentId, 'disable');
    expect((await hb(orch, a.token)).json).toMatchObject({ status: 403, code: 'agent_disabled' });
    await orch.admin.agentAction(a.agentId, 'enable');
    await orch.admin.agentAction(a.agentId, 'revoke-tokens');
    expect((await hb(orch, a.token)).json).toMatchObject({ status: 401, code: 'token_revoked' });
    const b = await registerAgent(orch);
    await orch.admin.agentAction(b.agentId, 'delete');
    expect((await hb(orch, b.token)).json).toMatchObject({ status: 410, code: 'agent_deleted' });
  });
});
