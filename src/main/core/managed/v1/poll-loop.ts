import { Backoff, cryptoJitter, POLL_BACKOFF, sleep } from '../backoff.js';
import type { AuthKeeper } from './auth.js';
import type { Session } from './session.js';
import { ActiveTask } from './task-runner.js';
import { validateOffer } from './tasks.js';
import { CommandSchema } from './wire.js';

/**
 * The long poll (spec §5.4): one always outstanding while the link is good, asking for the free capacity;
 * offers are claimed and run, commands applied. Transient errors back off (cut short when the link returns).
 */
export async function pollLoop(s: Session, auth: AuthKeeper, signal: AbortSignal): Promise<void> {
  await sleep(cryptoJitter(s.o.startupStaggerMs ?? 10_000), signal);
  const backoff = new Backoff(POLL_BACKOFF);
  let fastEmpty = 0;
  while (!signal.aborted) {
    if (s.link.auth !== 'ok' || s.stopping) {
      await s.link.wait(5000, signal);
      continue;
    }
    const capacity = s.capacity();
    s.pollAbort = new AbortController();
    const pollSignal = AbortSignal.any([signal, s.pollAbort.signal]);
    const r = s.link.observe(await s.client.poll(s.tun.poll_wait_max_s, capacity, pollSignal));
    const cutByUs = s.pollAbort.signal.aborted;
    s.pollAbort = null;
    if (signal.aborted) return;
    if (r.ok) {
      backoff.succeed();
      if (r.status === 204 || !r.body) {
        // A proxy answering long polls at once: slow down instead of hammering the server.
        fastEmpty = r.rttMs < 1000 ? fastEmpty + 1 : 0;
        if (fastEmpty >= 5) {
          fastEmpty = 0;
          await s.link.wait(5000 + cryptoJitter(10_000), signal);
        }
        continue;
      }
      fastEmpty = 0;
      handlePoll(s, auth, r.body, capacity, signal);
      continue;
    }
    if (cutByUs) continue;
    if (r.kind === 'transient' || r.kind === 'overload') {
      const delay = backoff.fail({ offline: s.link.offline, retryAfterMs: r.retryAfterMs });
      s.log.debug(`orchestrator poll failed (${r.message}); retrying in ${delay} ms`);
      // Offline, the probe backs off up to 5 min; when a heartbeat gets through, poll again at once. An
      // overload answer (429/503) keeps its Retry-After.
      s.pollRetryCut = new AbortController();
      await sleep(delay, r.kind === 'transient' ? AbortSignal.any([signal, s.pollRetryCut.signal]) : signal);
      s.pollRetryCut = null;
    } else {
      auth.onProblem(r);
      await sleep(backoff.fail({ offline: true }), signal);
    }
  }
}

function handlePoll(s: Session, auth: AuthKeeper, body: { tasks: unknown[]; commands: unknown[] }, capacity: number, signal: AbortSignal): void {
  for (const raw of body.commands) {
    const c = CommandSchema.safeParse(raw);
    if (!c.success) {
      s.log.info(`orchestrator: ignoring unknown command ${JSON.stringify(raw).slice(0, 120)}`);
      continue;
    }
    const cmd = c.data;
    if (cmd.type === 'cancel') {
      const t = (cmd.lease_id && s.tasks.get(cmd.lease_id)) || [...s.tasks.values()].find((x) => x.task.taskId === cmd.task_id);
      t?.requestStop('cancel');
    } else if (cmd.type === 'rotate_token') void auth.rotate('server_requested', signal);
    else if (cmd.type === 'drain') s.draining = true;
    else s.applyConfig(cmd.config);
  }
  let free = capacity;
  for (const raw of body.tasks) {
    const v = validateOffer(raw);
    if (v.kind === 'ignore') {
      s.log.warn(`orchestrator: ignoring offer: ${v.reason}`);
      continue;
    }
    const leaseId = v.kind === 'task' ? v.task.leaseId : v.leaseId;
    // Offers are delivered at least once: the journal dedupes by lease_id (spec §5.4).
    if (s.tasks.has(leaseId) || s.outbox.journal(leaseId)) continue;
    if (v.kind === 'reject') {
      s.log.warn(`orchestrator: rejecting task ${v.taskId}: ${v.reason}`);
      recordRejection(s, v);
      s.link.wake();
      continue;
    }
    if (free <= 0) continue;
    free -= 1;
    const deps = { client: s.client, outbox: s.outbox, link: s.link, spool: s.spool, executor: s.o.executor, log: s.log, failpoint: s.fp };
    runTask(s, new ActiveTask(v.task, { ...deps, tunables: () => s.tun, kick: () => s.link.wake(), clockSkewMs: () => s.serverSkewMs }), signal);
  }
}

/** A task the agent cannot run: journaled as rejected with a terminal report, so the server hears it once. */
function recordRejection(s: Session, v: { leaseId: string; taskId: string; attempt: number; reason: string }): void {
  s.outbox.recordOffer(
    {
      lease_id: v.leaseId,
      task_id: v.taskId,
      attempt: v.attempt,
      type: 'unknown',
      state: 'rejected',
      claim_acked: 0,
      status_seq: 1,
      log_seq: 0,
      claimed_at: null,
      cancel_grace_s: 0,
      params_json: '{}',
    },
    {
      lease_id: v.leaseId,
      attempt: v.attempt,
      status_seq: 1,
      state: 'rejected',
      reason: v.reason,
      log_seq: 0,
      result: { exit_code: null, incomplete: false, restic: null, error: { code: 'rejected', message: v.reason, retryable: false } },
    } as { status_seq: number; state: string },
  );
}

function runTask(s: Session, t: ActiveTask, signal: AbortSignal): void {
  s.tasks.set(t.leaseId, t);
  s.emit();
  // Capacity went to 0: re-poll with capacity=0 only after this poll returns (one poll outstanding).
  const flush = setInterval(() => s.spool.flush(t.leaseId), 250);
  const p = t
    .run(signal)
    .catch((e: unknown) => s.log.error(`task ${t.task.taskId}: ${(e as Error).message}`))
    .finally(() => {
      clearInterval(flush);
      s.tasks.delete(t.leaseId);
      s.runs.delete(p);
      s.link.wake();
      // Free capacity: cut the capacity=0 poll so the next one can take work at once.
      s.pollAbort?.abort();
      s.emit();
    });
  s.runs.add(p);
}
