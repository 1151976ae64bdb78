import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../../src/main/core/managed/v1/outbox.js';
import { REPO, assertInvariants, makeWorld, settled, type World } from './harness.js';
import { addAgent, agentCall, captureLog } from './tools.js';
import { waitFor, sleep } from '../../../helpers/wait.js';

/** §12.3 scenarios 2, 3, 4, 5, 7, 8, 9: the network and the server misbehave around a running agent. */
let w: World | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await w?.close();
  w = undefined;
});

const backup = (world: World, extras: Record<string, unknown> = {}, agentId: string | null = world.agentId) =>
  world.orch.admin.createTask(agentId, 'backup', { paths: ['/data'] }, { repo: REPO, ...extras });
const stateOf = async (world: World, id: string) => (await world.orch.admin.getTask(id)).state;
/** Cuts the agent off: every request is dropped at the proxy (the server stays up). */
const partition = (world: World) => world.proxy!.addRule({ action: { kind: 'drop_request' } });

describe('managed agent: network and server faults (§12.3)', () => {
  it('scenario 2: server killed between commit and response → retries carry the same keys → duplicate, no double transition', async () => {
    w = await makeWorld({ record: true });
    w.executor.plan = { durationMs: 300, logLines: 6 };
    w.proxy!.addRule({ method: 'POST', path: /\/status$/, bodyMatch: (b) => b.includes('"state":"succeeded"'), action: { kind: 'drop_response' }, times: 1 });
    const task = await backup(w);
    // Wait for the upstream answer, not the request's arrival: a restart while the request is still in flight
    // would lose it unrecorded, and the agent's retry would then be the only terminal on record.
    await waitFor('terminal applied, answer lost', () => w!.proxy!.log.find((e) => e.fault === 'drop_response')?.status === 200, 10_000);
    await w.orch.restart(300);
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    // The server already holds the terminal state: wait for the agent's retry of the same document.
    const terminals = () => w!.recorder!.log.filter((r) => r.path.endsWith('/status') && r.req.includes('"state":"succeeded"'));
    await waitFor('the terminal status retried after the lost response', () => terminals().length >= 2, 30_000);
    const terminal = terminals();
    expect(terminal.length).toBeGreaterThanOrEqual(2);
    expect(terminal[0]!.req).toBe(terminal.at(-1)!.req); // same (lease, seq) document
    expect(JSON.parse(terminal.at(-1)!.res)).toMatchObject({ duplicate: true, applied: false });
    expect(done.attempts[0]!.reports.filter((r) => r.state === 'succeeded')).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 3: outage longer than lease_ttl, shorter than lost_after → unknown (no reschedule) → renewed → result applied', async () => {
    w = await makeWorld({ proxy: true, server: { leaseTtlS: 2, failoverGraceS: 0 } });
    w.executor.plan = { durationMs: 7000, logLines: 10 };
    const task = await backup(w, { lost_after_s: 60 });
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = partition(w);
    await waitFor('lease expired → unknown', async () => (await stateOf(w!, task.task_id)) === 'unknown', 10_000);
    await sleep(1000);
    const mid = await w.orch.admin.getTask(task.task_id);
    expect(mid.state).toBe('unknown');
    expect(mid.attempts).toHaveLength(1);
    cut.remove();
    await waitFor('heartbeat renewed the lease', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    expect(done.attempts).toHaveLength(1);
    expect(w.executor.audit).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 4a: outage past lost_after → attempt 2 on another agent; agent 1 back → superseded, directive stop, restic killed, its log kept', async () => {
    w = await makeWorld({ proxy: true, server: { leaseTtlS: 1, failoverGraceS: 0, retryDelaysS: [0] } });
    w.executor.plan = { durationMs: 30_000, logLines: 8 };
    const task = await backup(w, { lost_after_s: 1 }, null);
    await waitFor('running on agent 1', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = partition(w);
    await waitFor('attempt 1 lost', async () => (await w!.orch.admin.getTask(task.task_id)).attempts[0]!.state === 'lost', 15_000);
    w.executor.plan = { durationMs: 400, logLines: 3 };
    const b = await addAgent(w);
    cleanups.push(async () => {
      await b.agent.abandon();
      b.db.close();
    });
    const done = await settled(w, task.task_id, ['succeeded'], 20_000);
    expect(done.attempts[1]!.agent_id).toBe(b.agentId);
    expect(w.executor.audit[0]!.aborted).toBe(false); // agent 1 cannot know yet
    cut.remove();
    await waitFor('agent 1 stopped its restic', () => w!.executor.audit[0]!.aborted, 15_000);
    await waitFor(
      'late report stored as superseded',
      async () => (await w!.orch.admin.getTask(task.task_id)).attempts[0]!.reports.some((r) => r.outcome === 'superseded'),
      15_000,
    );
    const after = await w.orch.admin.getTask(task.task_id);
    expect(after.state).toBe('succeeded');
    await waitFor('L1 log complete', async () => (await w!.orch.admin.getLogs(task.task_id)).attempts[0]!.complete, 15_000);
    const l1 = (await w.orch.admin.getLogs(task.task_id)).attempts.find((a) => a.lease_id === after.attempts[0]!.lease_id)!;
    expect(l1.entries.length).toBeGreaterThan(1);
    await assertInvariants(w, [task.task_id]);
    expect(new Outbox(b.db).pendingStatuses()).toHaveLength(0);
  });

  it('scenario 4b: attempt 1 committed while cut off → attempt 2 reconciles by task=<id> without a second backup; the late L1 result is kept in history', async () => {
    w = await makeWorld({ proxy: true, server: { leaseTtlS: 1, failoverGraceS: 0, retryDelaysS: [0] } });
    w.executor.plan = { durationMs: 1500, logLines: 5 };
    const task = await backup(w, { lost_after_s: 1 }, null);
    await waitFor('running on agent 1', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = partition(w);
    await waitFor('agent 1 committed its snapshot', () => w!.executor.audit[0]?.endedAt, 10_000);
    await waitFor('attempt 1 lost', async () => (await w!.orch.admin.getTask(task.task_id)).attempts[0]!.state === 'lost', 15_000);
    const b = await addAgent(w);
    cleanups.push(async () => {
      await b.agent.abandon();
      b.db.close();
    });
    const done = await settled(w, task.task_id, ['succeeded'], 20_000);
    const snap = w.executor.snapshotsForTask(task.task_id)[0]!;
    expect(done.attempts[1]!.params).toMatchObject({ reconcile_tag: `task=${task.task_id}` });
    expect(JSON.stringify(done.attempts[1]!.status)).toContain(snap);
    expect(w.executor.audit).toHaveLength(1);
    cut.remove();
    await waitFor(
      'late L1 result stored',
      async () => (await w!.orch.admin.getTask(task.task_id)).attempts[0]!.reports.some((r) => r.state === 'succeeded' && r.outcome === 'superseded'),
      15_000,
    );
    expect((await w.orch.admin.getTask(task.task_id)).state).toBe('succeeded');
    await waitFor('L1 log complete', async () => (await w!.orch.admin.getLogs(task.task_id)).attempts[0]!.complete, 15_000);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 5: partition (server up) → agent offline on the server, lease unknown; spool budget → gap marker; heal → rate-limited drain, polls resume at once', async () => {
    w = await makeWorld({
      record: true,
      server: { leaseTtlS: 3, failoverGraceS: 0 },
      agent: { tunables: { spool_max_bytes: 30_000, log_batch_max_lines: 20 } },
    });
    w.executor.plan = { durationMs: 9000, logLines: 1800 };
    const task = await backup(w, { lost_after_s: 120 });
    await waitFor('running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    const cut = partition(w);
    await waitFor('lease unknown', async () => (await stateOf(w!, task.task_id)) === 'unknown', 10_000);
    await waitFor('agent offline on the server (3 × interval + 15 s)', async () => !(await w!.orch.admin.getAgent(w!.agentId)).online, 25_000);
    expect(w.agent.status().offline).toBe(true);
    await waitFor('restic finished while cut off', () => w!.executor.audit[0]?.endedAt, 5000);
    const healedAt = Date.now();
    cut.remove();
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    expect(done.attempts).toHaveLength(1);
    // Drain ≤ drain_max_rps (5/s): no 1 s window holds more than 5 outbox requests (+1 for window edges).
    const sends = w
      .recorder!.log.filter((r) => r.t >= healedAt && r.method === 'POST' && (r.path.endsWith('/status') || r.path.endsWith('/logs')))
      .map((r) => r.t);
    expect(sends.length).toBeGreaterThan(3);
    for (const t0 of sends) expect(sends.filter((t) => t >= t0 && t < t0 + 1000).length).toBeLessThanOrEqual(6);
    const entries = (await w.orch.admin.getLogs(task.task_id)).attempts[0]!.entries;
    const dropped = entries.reduce((n, e) => n + ((e as { gap?: { dropped: number } }).gap?.dropped ?? 0), 0);
    expect(dropped, 'lines counted in gap markers').toBeGreaterThan(0);
    // The poll probe does not stay in its offline backoff (up to 5 min): it polls again right after reconnecting
    // (a long poll answers within poll_wait_max_s = 2 s).
    const firstPoll = w.recorder!.log.find((r) => r.t >= healedAt && r.path.endsWith('/tasks'));
    expect(firstPoll, 'a poll answered soon after the heal').toBeDefined();
    expect(firstPoll!.t - healedAt, 'first poll answer after heal (ms)').toBeLessThan(4500);
    w.executor.plan = { durationMs: 200, logLines: 2 };
    const next = await backup(w);
    await settled(w, next.task_id, ['succeeded'], 8000);
    await assertInvariants(w, [task.task_id, next.task_id]);
  }, 90_000);

  it('scenario 7: claim lost until the offer expires → 409 offer_expired, L1 dropped unstarted, L2 claimed and run once', async () => {
    w = await makeWorld({ proxy: true, server: { offerTtlS: 2 } });
    const drop = w.proxy!.addRule({ method: 'POST', path: /\/status$/, bodyMatch: (b) => b.includes('"state":"claimed"'), action: { kind: 'drop_request' } });
    const task = await backup(w);
    await waitFor('offer expired', async () => (await w!.orch.admin.getTask(task.task_id)).attempts[0]?.state === 'offer_expired', 10_000);
    expect(drop.hits).toBeGreaterThanOrEqual(1);
    drop.remove();
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    const [l1, l2] = done.attempts;
    expect(l1!.state).toBe('offer_expired');
    // L1 is dropped unstarted: by the retried claim's 409 or by the heartbeat's `stop` for the expired offer.
    expect(
      w.proxy!.log.filter((e) => e.path.endsWith('/status') && e.body.includes(l1!.lease_id)).map((e) => e.status),
      'claims of L1',
    ).not.toContain(200);
    expect(w.executor.audit.map((a) => a.leaseId)).toEqual([l2!.lease_id]);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 8a: the same offer in two polls (slow claim, spare capacity) → deduped by lease_id, one run', async () => {
    const log = captureLog();
    w = await makeWorld({ record: true, log, agent: { maxConcurrentTasks: 2 } });
    w.proxy!.addRule({ method: 'POST', path: /\/status$/, bodyMatch: (b) => b.includes('"state":"claimed"'), action: { kind: 'delay', ms: 2500 }, times: 1 });
    const task = await backup(w);
    const done = await settled(w, task.task_id, ['succeeded'], 20_000);
    const lease = done.attempts[0]!.lease_id;
    expect(w.recorder!.log.filter((r) => r.path.endsWith('/tasks') && r.res.includes(lease)).length).toBeGreaterThanOrEqual(2);
    expect(w.executor.audit).toHaveLength(1);
    expect(
      log.lines.filter((l) => l.startsWith('error')),
      'errors logged',
    ).toEqual([]);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 8b: a buggy server offers one task to agents A and B → only one claim gets 200, the other 409 and never runs', async () => {
    w = await makeWorld({ proxy: true });
    w.executor.plan = { durationMs: 1500, logLines: 3 };
    const b = await addAgent(w, { url: w.proxy!.url });
    cleanups.push(async () => {
      await b.agent.abandon();
      b.db.close();
    });
    const task = await backup(w);
    await waitFor('A running', async () => (await stateOf(w!, task.task_id)) === 'running', 10_000);
    // The bug: a second live offer of the same task, to B.
    const db = new Database(w.orch.dbFile);
    const now = Date.now();
    db.prepare(
      `INSERT INTO leases (id, task_id, agent_id, attempt, state, offered_at, offer_expires_at, params_json)
      VALUES ('lse_BUGGY0000000000000000001', ?, ?, 1, 'offered', ?, ?, '{"paths":["/data"]}')`,
    ).run(task.task_id, b.agentId, now, now + 60_000);
    db.close();
    await waitFor("B's claim refused", () => w!.proxy!.log.some((e) => e.body.includes('lse_BUGGY') && e.path.endsWith('/status') && e.status === 409), 10_000);
    await settled(w, task.task_id, ['succeeded'], 20_000);
    expect(w.executor.audit.map((a) => a.leaseId)).toEqual([(await w.orch.admin.getTask(task.task_id)).current_lease_id]);
    // Refused once and remembered (journal state `dropped`): the same offer polled again is not claimed again.
    expect(new Outbox(b.db).journal('lse_BUGGY0000000000000000001')?.state).toBe('dropped');
    expect(w.proxy!.log.filter((e) => e.body.includes('lse_BUGGY') && e.path.endsWith('/status'))).toHaveLength(1);
    await assertInvariants(w, [task.task_id]);
  });

  it('scenario 9: late (reordered) status → stale, replayed terminal → duplicate, status after terminal → stale; no regression', async () => {
    w = await makeWorld({ proxy: true, server: { progressIntervalS: 1 } });
    w.executor.plan = { durationMs: 3500, logLines: 4 };
    // Every send of seq 3 is lost until a newer snapshot replaces it in the outbox: seq 3 is never applied.
    const hold = w.proxy!.addRule({ method: 'POST', path: /\/status$/, bodyMatch: (b) => b.includes('"status_seq":3,'), action: { kind: 'drop_request' } });
    const task = await backup(w);
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    expect(hold.hits).toBeGreaterThanOrEqual(1);
    const lease = done.attempts[0]!.lease_id;
    const token = (await w.secrets.get(w.accounts.current))!;
    const post = (doc: Record<string, unknown>) =>
      agentCall(w!.orch.url, token, 'POST', `/tasks/${task.task_id}/status`, doc, { 'idempotency-key': `st:${lease}:${String(doc.status_seq)}` });
    const seq3 = JSON.parse(w.proxy!.log.find((e) => e.fault === 'drop_request' && e.body.includes('"status_seq":3,'))!.body) as Record<string, unknown>;
    const terminal = JSON.parse(w.proxy!.log.filter((e) => e.body.includes('"state":"succeeded"')).at(-1)!.body) as Record<string, unknown>;
    expect((await post(seq3)).json).toMatchObject({ stale: true, applied: false });
    expect((await post(terminal)).json).toMatchObject({ duplicate: true, applied: false });
    expect((await post({ ...terminal, status_seq: Number(terminal.status_seq) + 1, state: 'running', result: null })).json).toMatchObject({ stale: true });
    const after = await w.orch.admin.getTask(task.task_id);
    expect(after.state).toBe('succeeded');
    expect(after.attempts[0]!.state).toBe('succeeded');
    await assertInvariants(w, [task.task_id]);
  });
});
