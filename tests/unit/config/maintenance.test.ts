/** Issue #11: prune and check on their own per-repository cadence; backups only `forget`. */
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../../src/main/core/config/load.js';
import type { AgentConfig } from '../../../src/main/core/config/types.js';
import { pruneArgs } from '../../../src/main/core/restic/args.js';
import { jobsFromConfig } from '../../../src/main/core/scheduler/job-defs.js';
import { rotatingSubset } from '../../../src/main/core/scheduler/scheduler.js';

const ctx = { hostname: 'host', homedir: '/home/ann', dataDir: '/var/lib/restic-agent' };

function ok(text: string): AgentConfig {
  const r = validateConfigText(text, 'test.yaml', ctx);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

const BASE = `
repository: { url: /srv/repo, password_file: /etc/pass }
backup: { sources: [ { path: /home, policy: daily } ] }
`;

describe('maintenance cadence', () => {
  it('built-in policies no longer prune after each backup; the repository gets a weekly prune and a rotating weekly check', () => {
    const c = ok(BASE);
    expect(c.policies.daily?.prune).toBe('maintenance');
    const jobs = jobsFromConfig(c);
    expect(jobs.map((j) => j.key).sort()).toEqual(['backup:default:/home', 'check:default', 'prune:default']);
    const prune = jobs.find((j) => j.kind === 'prune')!;
    expect(prune.schedule).toEqual({ kind: 'cron', expression: '0 4 * * 0', timezone: null });
    expect(prune.conditions).toMatchObject({ acPowerOnly: true, notOnMetered: true, deadlineMs: 7 * 86_400_000 });
    const check = jobs.find((j) => j.kind === 'check')!;
    expect(check).toMatchObject({ readDataSubset: null, readDataCycle: 8 });
  });

  it('prune: after_backup keeps the old behaviour; false on a policy asks for no prune job', () => {
    const after = ok(`${BASE}policies: { daily: { prune: after_backup } }\n`);
    expect(after.policies.daily?.prune).toBe('after_backup');
    expect(jobsFromConfig(after).some((j) => j.kind === 'prune')).toBe(false);
    const none = ok(`${BASE}policies: { daily: { prune: false } }\n`);
    expect(none.policies.daily?.prune).toBe('never');
    expect(jobsFromConfig(none).some((j) => j.kind === 'prune')).toBe(false);
  });

  it('a repository section sets schedule, limits and conditions, or turns maintenance off', () => {
    const c = ok(`
repository:
  url: /srv/repo
  password_file: /etc/pass
  prune: { schedule: "0 5 1 * *", max_unused: 10%, max_repack_size: 20G, conditions: { ac_power_only: false, deadline: 30d } }
  check: { read_data_subset: 5% }
backup: { sources: [ { path: /home } ] }
`);
    const prune = c.repositories.default!.prune!;
    expect(prune).toMatchObject({ maxUnused: '10%', maxRepackSize: '20G', schedule: { expression: '0 5 1 * *' } });
    expect(prune.conditions).toMatchObject({ acPowerOnly: false, notOnMetered: true, deadlineMs: 30 * 86_400_000 });
    expect(jobsFromConfig(c).find((j) => j.kind === 'check')).toMatchObject({ readDataSubset: '5%', readDataCycle: 0 });
    const off = ok(`repository: { url: /srv/repo, password_file: /etc/pass, check: false, prune: false }\nbackup: { sources: [ { path: /home } ] }\n`);
    expect(jobsFromConfig(off).map((j) => j.kind)).toEqual(['backup']);
  });

  it('a repository without sources (orchestrator tasks only) gets no maintenance of its own', () => {
    const c = ok('repositories: { a: { url: /srv/a, password_file: /etc/pass } }\n');
    expect(jobsFromConfig(c)).toEqual([]);
  });

  it('bad maintenance values are clear errors', () => {
    const r = validateConfigText(`repository: { url: /srv/repo, password_file: /etc/pass, prune: { max_unused: lots } }\n`, 'test.yaml', ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/expected a percentage \("5%"\), a size \("1G"\) or "unlimited"/);
  });

  it('the read-data subset rotates so N successful checks read everything once; prune passes its limits', () => {
    expect([0, 1, 2, 3, 4].map((n) => rotatingSubset(n, 4))).toEqual(['1/4', '2/4', '3/4', '4/4', '1/4']);
    expect(pruneArgs({ maxUnused: '10%', maxRepackSize: '2G' })).toEqual(['prune', '--max-unused', '10%', '--max-repack-size', '2G']);
    expect(pruneArgs({})).toEqual(['prune']);
  });
});
