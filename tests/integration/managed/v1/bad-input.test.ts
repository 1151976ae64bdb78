import { afterEach, describe, expect, it } from 'vitest';
import { REPO, assertInvariants, makeWorld, settled, type World } from './harness.js';
import { captureLog } from './tools.js';
import { waitFor } from '../../../helpers/wait.js';

/**
 * Bad server input through the fault proxy against a running agent: malformed JSON, wrong types, huge bodies,
 * unknown fields/states/commands/task types, HTML with 200. The agent must not crash, must log a clear local
 * error, and must recover when the server behaves again (I1–I6 afterwards).
 */
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const HUGE = `{"tasks":[],"commands":[],"pad":"${'x'.repeat(2_000_000)}"}`;
const reply = (body: string, status = 200) => ({ kind: 'status' as const, status, body });
const backup = (world: World) => world.orch.admin.createTask(world.agentId, 'backup', { paths: ['/data'] }, { repo: REPO });

describe('managed agent: bad server input', () => {
  it('garbage answers to heartbeat, status and logs while a task runs → logged, retried, no loss', async () => {
    const log = captureLog();
    w = await makeWorld({ proxy: true, log });
    // Log lines over most of the run (the fake emits one per 20 ms), so the third garbage /logs answer always meets a
    // request; with 30 lines in 4 s the stream could be done before the rules were in place (~1 run in 3 failed).
    w.executor.plan = { durationMs: 8000, logLines: 300 };
    const task = await backup(w);
    await waitFor('running', async () => (await w!.orch.admin.getTask(task.task_id)).state === 'running', 10_000);
    const p = w.proxy!;
    const rules = [
      p.addRule({ method: 'POST', path: '/api/v1/agent/heartbeat', action: reply('{"tasks": [{"task_id": '), times: 1 }),
      p.addRule({ method: 'POST', path: '/api/v1/agent/heartbeat', action: reply('{"next_heartbeat_s": -5, "tasks": {"a": 1}}'), times: 1 }),
      p.addRule({
        method: 'POST',
        path: '/api/v1/agent/heartbeat',
        action: reply('{"tasks":[{"task_id":"x","lease_id":"y","directive":"explode"}],"token":{"rotate":false,"colour":"red"},"mystery":{"a":[1]}}'),
        times: 1,
      }),
      p.addRule({ method: 'POST', path: '/api/v1/agent/heartbeat', action: { kind: 'html200' }, times: 1 }),
      p.addRule({ method: 'POST', path: /\/status$/, action: reply('{"applied": "yes"}'), times: 1 }),
      p.addRule({ method: 'POST', path: /\/status$/, action: reply(HUGE), times: 1 }),
      p.addRule({ method: 'POST', path: /\/status$/, action: reply('<html><body>502 Bad Gateway</body></html>', 502), times: 1 }),
      p.addRule({ method: 'POST', path: '/api/v1/agent/logs', action: reply('{"ack_seq": -1}'), times: 1 }),
      p.addRule({ method: 'POST', path: '/api/v1/agent/logs', action: reply('not json at all'), times: 1 }),
      p.addRule({ method: 'POST', path: '/api/v1/agent/logs', action: { kind: 'html200' }, times: 1 }),
    ];
    // status and logs share one backoff class (spec §6), so after ~6 failures in a row the next try may be 30 s out.
    await waitFor('every garbage answer delivered', () => rules.every((r) => r.hits === 1), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}; hits per rule: ${rules.map((r) => r.hits).join(',')}`);
    });
    const done = await settled(w, task.task_id, ['succeeded'], 30_000);
    expect(done.attempts).toHaveLength(1);
    const text = log.lines.join('\n');
    expect(text).toMatch(/heartbeat.*body is not JSON/);
    expect(text).toMatch(/heartbeat.*field "(next_heartbeat_s|tasks)"/);
    expect(text).toMatch(/status.*field "applied"/);
    expect(text).toMatch(/status.*larger than 1048576 bytes/);
    expect(text).toMatch(/logs.*field "ack_seq"/);
    expect(text).not.toMatch(/loop crashed/);
    expect(w.agent.status().auth).toBe('ok');
    await assertInvariants(w, [task.task_id]);
  }, 120_000);

  it('garbage polls (malformed, wrong types, huge, unknown commands and task types, invalid offers) → ignored or rejected; the next real task runs', async () => {
    const log = captureLog();
    w = await makeWorld({ proxy: true, log });
    const p = w.proxy!;
    const offer = (o: Record<string, unknown>) => JSON.stringify({ tasks: [o], commands: [{ type: 'self_destruct', when: 'now' }, { type: 'cancel' }] });
    // Failures alternate with answers that parse (each success resets the poll backoff, keeping this quick).
    const answers = [
      reply('{"tasks": ['),
      reply(
        offer({
          task_id: 'tsk_BOGUS1',
          lease_id: 'lse_BOGUS1',
          type: 'defrag',
          attempt: 1,
          repo: { repo_id: 'r', url: '/tmp/x', password: 'p' },
          params: {},
          sparkle: true,
        }),
      ),
      reply('{"tasks": "none", "commands": 5}'),
      reply(offer({ note: 'no ids at all' })),
      reply(HUGE),
      reply(
        offer({
          task_id: 'tsk_BOGUS2',
          lease_id: 'lse_BOGUS2',
          type: 'backup',
          attempt: 1,
          repo: { repo_id: 'r', url: '/tmp/x', password: 'p' },
          params: { paths: 'not-a-list' },
        }),
      ),
      reply('[1, 2, 3]'),
    ];
    const rules = answers.map((action) => p.addRule({ method: 'GET', path: '/api/v1/agent/tasks', action, times: 1 }));
    await waitFor('every garbage poll delivered', () => rules.every((r) => r.hits === 1), 30_000);
    await waitFor('second bogus offer handled', () => log.lines.some((l) => l.includes('BOGUS2')), 5000);
    const text = log.lines.join('\n');
    expect(text).toMatch(/poll failed.*body is not JSON/);
    expect(text).toMatch(/poll failed.*field "tasks"/);
    expect(text).toMatch(/poll failed.*larger than 1048576 bytes/);
    expect(text).toMatch(/ignoring unknown command .*self_destruct/);
    expect(text).toMatch(/rejecting task tsk_BOGUS1: unsupported task type "defrag"/);
    expect(text).toMatch(/rejecting task tsk_BOGUS2: invalid backup params: paths/);
    expect(text).toMatch(/ignoring offer: offer without valid task_id/);
    // The server behaves again: a real task is claimed and run, nothing bogus ever ran.
    const task = await backup(w);
    await settled(w, task.task_id, ['succeeded'], 20_000);
    expect(w.executor.audit.map((a) => a.taskId)).toEqual([task.task_id]);
    expect(text).not.toMatch(/loop crashed/);
    await assertInvariants(w, [task.task_id]);
  });
});
