import type { DesktopSettings } from '../../shared/agent-api.js';
import type { AgentStatus } from '../../shared/model/status.js';

/** One desktop notification. */
export interface Alert {
  /** Stable per problem: `failure:<source>`, `overdue:<source>`, `success:<source>`. */
  readonly key: string;
  readonly title: string;
  readonly body: string;
}

const FAILED = new Set(['no-repo', 'locked', 'wrong-password', 'timeout', 'stalled', 'killed', 'crash', 'config-error', 'failed']);

/**
 * Decides which notifications a status change deserves: one per problem, not one per retry.
 *
 * A problem (a failing source, an overdue source, a global error) alerts once when it appears and again only
 * after it was resolved and came back. Success alerts are optional and fire when a source's last success
 * time moves forward. The first status seen is a baseline and never alerts for successes.
 */
export class Notifier {
  readonly #show: (alert: Alert) => void;
  readonly #settings: () => DesktopSettings;
  readonly #active = new Set<string>();
  readonly #lastSuccess = new Map<string, string | null>();
  #seenFirst = false;

  constructor(show: (alert: Alert) => void, settings: () => DesktopSettings) {
    this.#show = show;
    this.#settings = settings;
  }

  /** Feeds a new status; shows the alerts it deserves and returns them. */
  update(status: AgentStatus): Alert[] {
    const settings = this.#settings();
    const current = new Map<string, Alert>();
    for (const s of status.sources) {
      const run = s.lastRun;
      if (run?.outcome && FAILED.has(run.outcome)) {
        current.set(`failure:${s.path}`, { key: `failure:${s.path}`, title: `Backup of ${s.path} failed`, body: run.message ?? run.outcome });
      }
      if (s.stale) {
        current.set(`overdue:${s.path}`, { key: `overdue:${s.path}`, title: `Backup of ${s.path} is overdue`, body: overdueBody(s.lastSuccessAt) });
      }
    }
    if (status.lastError && ![...current.keys()].some((k) => k.startsWith('failure:'))) {
      const key = `failure:agent:${status.lastError.outcome}`;
      current.set(key, { key, title: 'Restic Monitor Agent: a run failed', body: status.lastError.message });
    }
    const shown: Alert[] = [];
    for (const [key, alert] of current) {
      if (this.#active.has(key)) continue;
      this.#active.add(key);
      const wanted = key.startsWith('overdue:') ? settings.notifyOnOverdue : settings.notifyOnFailure;
      if (wanted) shown.push(alert);
    }
    for (const key of [...this.#active]) if (!current.has(key)) this.#active.delete(key);
    for (const s of status.sources) {
      const before = this.#lastSuccess.get(s.path);
      this.#lastSuccess.set(s.path, s.lastSuccessAt);
      const moved = this.#seenFirst && s.lastSuccessAt !== null && s.lastSuccessAt !== before;
      if (moved && settings.notifyOnSuccess) {
        shown.push({ key: `success:${s.path}`, title: `Backed up ${s.path}`, body: s.lastRun?.message ?? 'The backup finished.' });
      }
    }
    this.#seenFirst = true;
    for (const alert of shown) this.#show(alert);
    return shown;
  }
}

function overdueBody(lastSuccessAt: string | null): string {
  return lastSuccessAt ? `The last successful backup was at ${lastSuccessAt.slice(0, 16).replace('T', ' ')}.` : 'There is no successful backup yet.';
}
