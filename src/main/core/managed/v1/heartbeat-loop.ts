import { Backoff, cryptoJitter, sleep } from '../backoff.js';
import type { AuthKeeper } from './auth.js';
import { buildHeartbeat, defaultHeartbeatFacts } from './heartbeat.js';
import type { Session } from './session.js';
import type { ManagedStatus } from './agent.js';

/** Heartbeats at the server's interval (jittered), backs off on failure, rotates an expired token first. */
export async function heartbeatLoop(s: Session, auth: AuthKeeper, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff({ baseMs: 1000, capMs: s.hbInterval });
  let retryIn: number | null = (await beat(s, auth, signal)) ? null : backoff.fail();
  while (!signal.aborted) {
    const a = s.link.auth;
    if (a === 'gone') return;
    // Suspended or disabled: probe every 5 min at most, no crash loop (spec §3, scenario 11).
    const delay = a === 'suspended' || a === 'forbidden' ? 300_000 : (retryIn ?? s.hbInterval * (0.9 + cryptoJitter(200) / 1000));
    const kick = new AbortController();
    s.hbKick = () => kick.abort();
    await sleep(delay, AbortSignal.any([signal, kick.signal]));
    s.hbKick = null;
    if (signal.aborted) return;
    if (s.link.auth === 'expired') {
      await auth.rotate('scheduled', signal);
      // A refused rotation suspends: the token is dead, so no heartbeat with it now; the next probe is in 5 min.
      const after: string = s.link.auth; // changed by the rotation
      if (after === 'suspended') continue;
    }
    if (await beat(s, auth, signal)) {
      backoff.succeed();
      retryIn = null;
    } else retryIn = Math.min(s.hbInterval, backoff.fail());
  }
}

/**
 * Sends one heartbeat (with the `next` token when there is one, proving it) and applies the response. True on 2xx.
 * `final` is a stop's last one; `probe` the update health check's, which starts no token rotation.
 */
export async function beat(s: Session, auth: AuthKeeper, signal: AbortSignal, kind: 'regular' | 'final' | 'probe' = 'regular'): Promise<boolean> {
  const final = kind === 'final';
  const facts = await (s.o.heartbeatFacts ?? (() => defaultHeartbeatFacts()))();
  const useNext = s.slots.next;
  const body = buildHeartbeat(
    {
      seq: ++s.hbSeq,
      bootId: s.bootId,
      uptimeS: (performance.now() - s.t0) / 1000,
      state: final ? 'stopping' : heartbeatState(s.status().state),
      capacityMax: s.o.maxConcurrentTasks ?? 1,
      running: runningLeases(s),
      rttMs: s.link.rttMs,
      spool: s.outbox.stats(false),
      clockDriftMs: s.clockDriftMs,
      keyStoreBackend: s.slots.backend,
      final,
    },
    facts,
  );
  const r = s.link.observe(await s.client.heartbeat(body, { ...(useNext ? { token: useNext } : {}), signal }));
  if (!r.ok) {
    if (r.kind === 'auth' && useNext) {
      s.log.warn('orchestrator: the rotated token was refused; keeping the current one and rotating again later');
      await s.slots.discardNext();
      return false;
    }
    if (r.kind !== 'transient' && r.kind !== 'overload') auth.onProblem(r);
    else s.log.debug(`orchestrator heartbeat failed: ${r.message}`);
    return false;
  }
  if (useNext) {
    await s.slots.promote();
    s.log.info('orchestrator: agent token rotated');
  }
  if (s.link.auth !== 'ok') {
    s.link.setAuth('ok');
    s.message = null;
  }
  s.o.onAuthenticated?.();
  const b = r.body;
  if (!b) return true;
  if (b.next_heartbeat_s) s.hbInterval = b.next_heartbeat_s * 1000;
  if (typeof b.clock_skew_ms === 'number') s.serverSkewMs = b.clock_skew_ms;
  if (b.config) s.applyConfig(b.config);
  for (const d of b.tasks) {
    const t = s.tasks.get(d.lease_id);
    if (!t) continue;
    if (d.directive === 'cancel') t.requestStop('cancel');
    else if (d.directive === 'stop' || d.directive === 'unknown') t.requestStop('superseded');
  }
  if (b.upgrade?.min_version && versionLess(s.o.agentVersion, b.upgrade.min_version)) {
    s.setMessage(`this agent (${s.o.agentVersion}) is older than the orchestrator's minimum ${b.upgrade.min_version}; upgrade restic-agent`);
  }
  // A probe leaves rotation to the running agent: both share the secret store.
  if (b.token?.rotate && kind === 'regular') void auth.rotate('server_requested', signal);
  return true;
}

/** Every lease the agent holds: live attempts plus finished ones whose report is still in the outbox (spec §5.3). */
function runningLeases(s: Session) {
  const live = [...s.tasks.values()].filter((t) => t.phase !== 'done').map((t) => t.runningEntry());
  const seen = new Set(live.map((l) => l.lease_id));
  const held = s.outbox
    .heldLeases()
    .filter((l) => !seen.has(l.lease_id))
    .map((l) => ({ ...l, elapsed_s: 0 }));
  return [...live, ...held];
}

function heartbeatState(state: ManagedStatus['state']): 'idle' | 'busy' | 'draining' | 'suspended' | 'stopping' {
  return state === 'stopped' ? 'stopping' : state;
}

/** True when dotted version `a` < `b` (numeric parts only). */
function versionLess(a: string, b: string): boolean {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}
