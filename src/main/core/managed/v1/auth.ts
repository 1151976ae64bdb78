import type { CallResult } from './client.js';
import { KV } from './enrollment.js';
import type { Session } from './session.js';

/**
 * What the agent does about its credential: token rotation (spec §5.2) and the answers that say the token or
 * the agent is no longer good (401/403/410/426), each turned into a link state and a user-facing sentence.
 */
export class AuthKeeper {
  #rotating = false;

  constructor(private readonly s: Session) {}

  /** Rotation: counter persisted first, new token into `next`, proven by the next heartbeat. */
  async rotate(reason: 'scheduled' | 'server_requested' | 'manual', signal: AbortSignal): Promise<void> {
    const { s } = this;
    const current = s.slots.current;
    if (this.#rotating || s.slots.next || !current || !s.agentId) return;
    this.#rotating = true;
    try {
      const counter = Number(s.outbox.kvGet(KV.rotationCounter) ?? '0') + 1;
      s.outbox.kvSet(KV.rotationCounter, String(counter));
      const r = s.link.observe(await s.client.rotate(reason, `rot:${s.agentId}:${counter}`, current, signal));
      if (r.ok && r.body) {
        s.fp('after_rotate_response');
        await s.slots.setNext(r.body.agent_token);
        s.hbKick?.();
        return;
      }
      if (!r.ok && r.kind === 'auth') this.suspend(r.code, 'the orchestrator refused to rotate the agent token');
      else if (!r.ok) s.log.warn(`orchestrator: token rotation failed (${r.message}); will retry`);
    } finally {
      this.#rotating = false;
    }
  }

  /** A non-transient failure of any call. */
  onProblem(r: Extract<CallResult<unknown>, { ok: false }>): void {
    const { s } = this;
    switch (r.kind) {
      case 'auth':
        if (r.code === 'token_expired' && s.link.auth === 'ok') {
          s.link.setAuth('expired', r.code);
          s.hbKick?.();
        } else if (r.code !== 'token_expired' && !s.slots.next) this.suspend(r.code, 'the orchestrator refused the agent token');
        break;
      case 'forbidden':
        s.link.setAuth('forbidden', r.code);
        s.setMessage(`the orchestrator disabled this agent (${r.code ?? '403'}); no new tasks are taken`);
        break;
      case 'gone':
        s.link.setAuth('gone', r.code);
        s.cancelAll();
        s.setMessage('the orchestrator deleted this agent; enroll it again');
        break;
      case 'upgrade_required':
        s.link.upgradeRequired = r.problem?.min_version ?? 'unknown';
        s.setMessage(`this agent is too old for the orchestrator (minimum ${s.link.upgradeRequired}); upgrade restic-agent. Reports are still sent.`);
        break;
      default:
        break;
    }
  }

  suspend(code: string | null, why: string): void {
    const { s } = this;
    s.link.setAuth('suspended', code);
    s.cancelAll();
    s.pollAbort?.abort();
    s.setMessage(`${why} (${code ?? '401'}): managed mode is suspended; re-enroll this agent. The outbox is kept.`);
  }
}
