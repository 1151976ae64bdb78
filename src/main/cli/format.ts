import { humanAge } from '../core/index.js';
import { formatBytes } from '../../shared/format.js';
import type { SnapshotInfo } from '../../shared/agent-api.js';
import type { RunRecord } from '../../shared/model/run.js';
import type { AgentStatus } from '../../shared/model/status.js';

/** One line per finished run: what, result, snapshot and size. */
export function formatRun(r: RunRecord): string {
  const what = `${r.kind}${r.source ? ` ${r.source}` : ''} [${r.repository}]`;
  const snap = r.snapshotId ? ` snapshot ${r.snapshotId.slice(0, 8)}` : '';
  const stats = r.stats ? `, ${r.stats.filesNew} new / ${r.stats.filesChanged} changed files, ${formatBytes(r.stats.dataAdded)} added` : '';
  return `${(r.outcome ?? 'running').toUpperCase()}  ${what}: ${r.message ?? ''}${snap}${stats}`;
}

/** The `status` command's human output. */
export function formatStatus(s: AgentStatus): string {
  const lines = [
    `state:    ${s.state}${s.pausedUntil ? ` (paused until ${s.pausedUntil})` : ''}`,
    `mode:     ${s.mode}`,
    `restic:   ${s.resticVersion ?? 'not found'}`,
    `secrets:  ${s.secretBackend}`,
    `agent:    ${s.agentVersion}`,
  ];
  if (s.credential) {
    const c = s.credential;
    lines.push(
      `orchestrator: ${c.orchestrator} (${c.dialect ?? 'dialect not detected yet'}), credential in ${s.secretBackend}, last worked ${c.lastWorkedAt ?? 'never'}`,
    );
  }
  if (s.lastError) lines.push(`error:    ${s.lastError.message} (${s.lastError.at})`);
  for (const src of s.sources) {
    const last = src.lastRun ? `${src.lastRun.outcome ?? 'running'} at ${src.lastRun.endedAt ?? src.lastRun.startedAt}` : 'never run';
    const newest = src.newestSnapshotAgeSeconds === null ? 'none' : `${humanAge(src.newestSnapshotAgeSeconds * 1000)} old${src.stale ? ' (stale)' : ''}`;
    lines.push(`source:   ${src.path} [${src.repository}, ${src.policy}] last: ${last}; next: ${src.nextRunAt ?? '—'}; newest snapshot: ${newest}`);
    if (src.health) lines.push(`          ${src.health.ok ? 'healthy' : 'UNHEALTHY'}: ${src.health.line}`);
  }
  for (const r of s.running) lines.push(`running:  ${r.kind} ${r.source ?? r.repository}${r.progress ? ` ${r.progress.percent.toFixed(0)}%` : ''}`);
  return lines.join('\n');
}

/** The `snapshots` command's human output. */
export function formatSnapshots(list: ReadonlyArray<SnapshotInfo>): string {
  if (list.length === 0) return 'no snapshots';
  return list
    .map((s) => `${s.shortId}  ${s.time.slice(0, 19).replace('T', ' ')}  ${s.hostname.padEnd(16)} ${s.paths.join(', ')}  ${s.tags.join(',')}`)
    .join('\n');
}
