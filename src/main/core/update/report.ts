import type { UpdateState } from './state.js';

/** The heartbeat's `update` extension: the last check and the last update attempt, as the orchestrator sees them. */
export interface UpdateReport {
  readonly last_check_at: string | null;
  readonly last_check: string | null;
  readonly latest: string | null;
  readonly last_update: { readonly at: string; readonly from: string; readonly to: string; readonly result: string; readonly message: string } | null;
  readonly failed_versions: readonly string[];
}

export function updateReport(s: UpdateState): UpdateReport | null {
  if (!s.lastCheck && !s.lastUpdate) return null;
  return {
    last_check_at: s.lastCheck?.at ?? null,
    last_check: s.lastCheck ? `${s.lastCheck.result}: ${s.lastCheck.message}` : null,
    latest: s.lastCheck?.latest ?? null,
    last_update: s.lastUpdate,
    failed_versions: s.failedVersions,
  };
}
