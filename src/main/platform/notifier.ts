import type { DesktopSettings } from '../../shared/agent-api.js';
import type { AgentAlert } from '../../shared/model/alert.js';
import { isFailure, type RunRecord, succeeded } from '../../shared/model/run.js';

/** One desktop notification. */
export interface Alert {
  /** Stable per problem: `failure:<source or repository>`, `overdue:<source>`, `unreachable:<repository>`, `success:<source>`. */
  readonly key: string;
  readonly title: string;
  readonly body: string;
}

/**
 * Turns the core's `run-finished` and `alert` events into desktop notifications: one per problem, not one per retry.
 *
 * A failing source (or repository, for runs without a source) notifies when it starts failing and again only
 * after a success cleared it. Overdue and unreachable are the core's own alerts. Success notifications are optional.
 */
export class Notifier {
  readonly #active = new Set<string>();

  constructor(
    private readonly show: (alert: Alert) => void,
    private readonly settings: () => DesktopSettings,
  ) {}

  /** A run ended; returns what was shown. */
  runFinished(run: RunRecord): Alert[] {
    const subject = run.source ?? run.repository;
    const key = `failure:${subject}`;
    if (isFailure(run.outcome)) {
      const what = run.kind === 'backup' ? `Backup of ${subject}` : `${run.kind[0]!.toUpperCase()}${run.kind.slice(1)} of ${subject}`;
      return this.#raise({ key, title: `${what} failed`, body: run.message ?? String(run.outcome) }, this.settings().notifyOnFailure);
    }
    if (!succeeded(run.outcome)) return [];
    this.#active.delete(key);
    if (run.kind !== 'backup' || !this.settings().notifyOnSuccess) return [];
    return this.#emit({ key: `success:${subject}`, title: `Backed up ${subject}`, body: run.message ?? 'The backup finished.' });
  }

  /** The core raised an alert (it fires once per transition, so no de-duplication here); returns what was shown. */
  alert(a: AgentAlert): Alert[] {
    const subject = a.source ?? a.repository;
    const settings = this.settings();
    if (a.kind === 'stale' && settings.notifyOnOverdue) {
      return this.#emit({ key: `overdue:${subject}`, title: `Backup of ${subject} is overdue`, body: a.message });
    }
    if (a.kind === 'repository-unreachable' && settings.notifyOnFailure) {
      return this.#emit({ key: `unreachable:${a.repository}`, title: `Repository ${a.repository} is unreachable`, body: a.message });
    }
    // Retry-policy alerts accompany a failed run, which `runFinished` already reported.
    return [];
  }

  #raise(alert: Alert, wanted: boolean): Alert[] {
    if (this.#active.has(alert.key)) return [];
    this.#active.add(alert.key);
    return wanted ? this.#emit(alert) : [];
  }

  #emit(alert: Alert): Alert[] {
    this.show(alert);
    return [alert];
  }
}
