import { formatBytes } from '../../../shared/format.js';
import type { RunConditions } from '../config/types.js';
import type { PlatformProbes } from './probes.js';

/** Result of checking a policy's run conditions. */
export interface ConditionResult {
  readonly ok: boolean;
  /** One sentence per unmet condition, e.g. "on battery power (ac_power_only)". */
  readonly reasons: ReadonlyArray<string>;
}

export interface ConditionContext {
  readonly probes: PlatformProbes;
  /** File system to check `min_free_cache` on (restic's cache dir); null skips the check. */
  readonly cachePath: string | null;
  /** Whether the repository answers; null = unknown. Only called when `requireRepositoryReachable`. */
  readonly repositoryReachable?: () => Promise<boolean | null>;
}

async function safe<T>(p: () => Promise<T | null>): Promise<T | null> {
  try {
    return await p();
  } catch {
    return null;
  }
}

/**
 * Checks the conditions a policy sets before a scheduled run. Unknown answers (null, a probe that throws)
 * count as satisfied. The cheap local checks run first; the repository probe only when they pass.
 */
export async function evaluateConditions(c: RunConditions, ctx: ConditionContext): Promise<ConditionResult> {
  const reasons: string[] = [];
  if (c.acPowerOnly && (await safe(() => ctx.probes.onAcPower())) === false) {
    reasons.push('on battery power (ac_power_only)');
  }
  if (c.notOnMetered && (await safe(() => ctx.probes.isMetered())) === true) {
    reasons.push('on a metered connection (not_on_metered)');
  }
  if (c.minFreeCacheBytes > 0 && ctx.cachePath) {
    const path = ctx.cachePath;
    const free = await safe(() => ctx.probes.freeBytes(path));
    if (free !== null && free < c.minFreeCacheBytes) {
      reasons.push(`only ${formatBytes(free)} free for the cache, needs ${formatBytes(c.minFreeCacheBytes)} (min_free_cache)`);
    }
  }
  if (reasons.length === 0 && c.requireRepositoryReachable && ctx.repositoryReachable) {
    const probe = ctx.repositoryReachable;
    if ((await safe(() => probe())) === false) reasons.push('repository not reachable (require_repository_reachable)');
  }
  return { ok: reasons.length === 0, reasons };
}
