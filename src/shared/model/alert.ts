/** Why the user should hear about something; each fires once per transition, not per run. */
export type AlertKind = 'deadline-relaxed' | 'not-retryable' | 'retries-exhausted' | 'stale' | 'fresh-again' | 'repository-unreachable';

/** An alert the core raised (scheduler retry policy, staleness watchdog, reachability check). */
export interface AgentAlert {
  readonly kind: AlertKind;
  readonly severity: 'info' | 'warning' | 'error';
  readonly repository: string;
  readonly source: string | null;
  readonly message: string;
  /** ISO time. */
  readonly at: string;
}
