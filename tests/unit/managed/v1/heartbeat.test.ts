import { describe, expect, it } from 'vitest';
import { buildHeartbeat, type HeartbeatState } from '../../../../src/main/core/managed/v1/heartbeat.js';
import type { HeartbeatFacts } from '../../../../src/main/core/managed/v1/types.js';

const state: HeartbeatState = {
  seq: 3,
  bootId: 'boot-1',
  uptimeS: 12.4,
  state: 'idle',
  capacityMax: 1,
  running: [],
  rttMs: null,
  spool: { records: 0, bytes: 0, oldest_age_s: 0, dead_letters: 0, degraded: false },
  clockDriftMs: 0.4,
  keyStoreBackend: 'secret-service',
};
const facts: HeartbeatFacts = {
  resources: { cpu_pct: 0, load1: 0.1, mem_used_bytes: 1, mem_total_bytes: 2, agent_rss_bytes: 3 },
  disks: [],
  repos: [],
  restic_version: '0.19.0',
  ntp_synced: null,
};

describe('buildHeartbeat', () => {
  it('follows §5.3 and leaves out the extensions it has nothing for', () => {
    const body = buildHeartbeat(state, facts, new Date('2026-12-07T10:00:00Z'));
    expect(body).toMatchObject({ seq: 3, boot_id: 'boot-1', uptime_s: 12, state: 'idle', capacity: { max: 1, free: 1 }, restic_version: '0.19.0' });
    expect(body).not.toHaveProperty('sources');
    expect(body).not.toHaveProperty('final');
    expect(body.connectivity).toEqual({ repos: [] });
  });

  it('carries the plugin sources’ health', () => {
    const sources = [{ id: 'postgres:shop', healthy: false, health: 'password authentication failed', checked_at: '2026-12-07T09:59:00Z' }];
    expect(buildHeartbeat(state, { ...facts, sources }).sources).toEqual(sources);
  });
});
