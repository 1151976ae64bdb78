import type { RunRecord } from '../../src/shared/model/run.js';
import type { AgentStatus, RunningInfo, SourceStatus } from '../../src/shared/model/status.js';

/** A configured, idle agent with the given sources. */
export function idleStatus(overrides: Partial<AgentStatus> = {}): AgentStatus {
  return {
    state: 'idle',
    mode: 'standalone',
    configured: true,
    pausedUntil: null,
    running: [],
    sources: [source('/home/me/Documents')],
    lastError: null,
    orchestrator: null,
    resticVersion: '0.19.1',
    secretBackend: 'memory',
    agentVersion: '0.1.0',
    ...overrides,
  };
}

/** A source status. */
export function source(path: string, overrides: Partial<SourceStatus> = {}): SourceStatus {
  return {
    path,
    repository: 'default',
    policy: 'daily',
    lastRun: null,
    lastSuccessAt: null,
    nextRunAt: null,
    newestSnapshotAgeSeconds: null,
    stale: false,
    ...overrides,
  };
}

/** A running backup with progress. */
export function running(runId = 'run-1', percent = 42): RunningInfo {
  return {
    runId,
    kind: 'backup',
    repository: 'default',
    source: '/home/me/Documents',
    startedAt: '2026-01-01T10:00:00Z',
    progress: {
      percent,
      bytesDone: 1,
      totalBytes: 2,
      filesDone: 1,
      totalFiles: 2,
      errorCount: 0,
      etaSeconds: 300,
      elapsedSeconds: 10,
      currentFiles: ['/home/me/Documents/a.txt'],
    },
  };
}

/** A finished run record. */
export function runRecord(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    kind: 'backup',
    trigger: 'schedule',
    repository: 'default',
    source: '/home/me/Documents',
    policy: 'daily',
    taskId: null,
    startedAt: '2026-01-01T10:00:00Z',
    endedAt: '2026-01-01T10:01:00Z',
    outcome: 'success',
    message: 'snapshot abc123 saved',
    snapshotId: 'abc123',
    stats: null,
    fileErrors: [],
    exitCode: 0,
    ...overrides,
  };
}
