import { checkBaseUrl } from '../../../src/main/core/managed/restic-monitor/api.js';
import { describe, expect, it } from 'vitest';
import { validateConfigText, type ConfigValidation } from '../../../src/main/core/config/load.js';
import type { AgentConfig } from '../../../src/main/core/config/types.js';
import { NO_HOOKS } from '../../../src/main/core/config/normalise.js';

const ctx = { hostname: 'laptop.local', homedir: '/home/ann', dataDir: '/home/ann/.local/share/restic-agent' };

function ok(text: string): AgentConfig {
  const r = validateConfigText(text, 'test.yaml', ctx);
  if (!r.ok) throw new Error(`expected valid config, got: ${JSON.stringify(r.errors)}`);
  return r.config;
}

function errors(text: string): Extract<ConfigValidation, { ok: false }>['errors'] {
  const r = validateConfigText(text, 'test.yaml', ctx);
  if (r.ok) throw new Error('expected errors, config was valid');
  return r.errors;
}

const ORIGINAL = `
agent: { id: server-01, hostname: web-server, poll_interval: 60s, heartbeat_interval: 30s }
restic: { binary: /usr/bin/restic, cache_dir: /var/cache/restic, config_dir: /etc/restic }
repository: { url: /srv/backup/repo, password_file: /etc/restic/repo.pass }
backup:
  sources:
    - { path: /home, policy: daily }
    - { path: /etc, policy: hourly }
  exclude: [ "/home/*/.cache", "/home/*/tmp" ]
`;

describe('the original-design example', () => {
  it('validates and normalises', () => {
    const c = ok(ORIGINAL);
    expect(c.agent).toMatchObject({ id: 'server-01', hostname: 'web-server', pollIntervalMs: 60_000, heartbeatIntervalMs: 30_000 });
    expect(c.restic).toMatchObject({ binary: '/usr/bin/restic', cacheDir: '/var/cache/restic', configDir: '/etc/restic' });
    expect(c.repositories.default).toEqual({
      name: 'default',
      url: '/srv/backup/repo',
      password: { kind: 'file', path: '/etc/restic/repo.pass' },
      env: {},
      secretEnv: [],
      // Maintenance on its own weekly cadence (issue #11), not after each backup.
      check: expect.objectContaining({ schedule: { kind: 'cron', expression: '0 4 * * 6', timezone: null }, readDataSubset: null, readDataCycle: 8 }),
      prune: expect.objectContaining({ schedule: { kind: 'cron', expression: '0 4 * * 0', timezone: null }, maxUnused: null, maxRepackSize: null }),
    });
    expect(c.sources).toEqual([
      { path: '/home', policy: 'daily', repository: 'default', exclude: ['/home/*/.cache', '/home/*/tmp'], tags: [], plugin: null, hooks: NO_HOOKS },
      { path: '/etc', policy: 'hourly', repository: 'default', exclude: ['/home/*/.cache', '/home/*/tmp'], tags: [], plugin: null, hooks: NO_HOOKS },
    ]);
    expect(Object.keys(c.policies).sort()).toEqual(['daily', 'hourly', 'weekly']);
    expect(c.orchestrator).toBeNull();
  });
});

describe('defaults', () => {
  it('an empty file is a valid, unconfigured agent', () => {
    for (const text of ['', '# nothing\n', '{}']) {
      const c = ok(text);
      expect(c.agent).toEqual({
        id: 'laptop.local',
        hostname: 'laptop.local',
        pollIntervalMs: 60_000,
        heartbeatIntervalMs: 30_000,
        dataDir: ctx.dataDir,
        logLevel: 'info',
        catchUpDelayMs: 120_000,
      });
      expect(c.restic).toEqual({
        binary: 'restic',
        cacheDir: null,
        configDir: null,
        cancelGraceMs: 10_000,
        stallTimeoutMs: 0,
        runTimeoutMs: 0,
        retryLockMs: 120_000,
      });
      expect(c.secrets).toEqual({ backend: 'auto', file: null });
      expect(c.pause).toEqual({ defaultMs: 3_600_000 });
      expect(c.sources).toEqual([]);
      expect(c.repositories).toEqual({});
    }
  });

  it('built-in policies have schedules and retention', () => {
    const c = ok('');
    expect(c.policies.hourly?.schedule).toEqual({ kind: 'cron', expression: '0 * * * *', timezone: null });
    expect(c.policies.daily?.retention?.keepDaily).toBe(7);
    expect(c.policies.weekly?.retention?.keepWeekly).toBeGreaterThan(0);
  });

  it('a repository without a password source uses the keyring account repo:<name>:password', () => {
    const c = ok('repositories: { nas: { url: "sftp:nas:/backup" } }\nbackup: { sources: [ { path: ~/docs } ] }');
    expect(c.repositories.nas?.password).toEqual({ kind: 'keyring', account: 'repo:nas:password' });
    expect(c.sources[0]).toMatchObject({ path: '/home/ann/docs', policy: 'daily', repository: 'nas' });
  });
});

const FULL = `
agent:
  data_dir: ~/agent-data
  log_level: debug
  catch_up_delay: 5m
restic:
  cancel_grace: 20s
  stall_timeout: 30m
  run_timeout: 12h
  retry_lock: 10m
repositories:
  local: { url: /srv/repo, password_command: "pass show restic" }
  s3:
    url: s3:s3.amazonaws.com/bucket/restic
    password_keyring: my-s3-password
    env: { AWS_ACCESS_KEY_ID: AKIAEXAMPLE, AWS_DEFAULT_REGION: eu-west-1, RESTIC_PACK_SIZE: 64 }
    secret_env: [AWS_SECRET_ACCESS_KEY]
    check: { schedule: "0 4 * * 0", timezone: Europe/Berlin, read_data_subset: 5% }
backup:
  sources:
    - { path: /home, policy: workdays, repository: s3, exclude: ["*.iso"], tags: [home, laptop] }
    - { path: /etc, policy: daily, repository: local }
  exclude: ["*.tmp"]
policies:
  workdays:
    schedule: "0 18 * * 1-5"
    timezone: Europe/Berlin
    jitter: 10m
    retention: { keep_last: 3, keep_daily: 14, keep_within: 30d }
    prune: true
    conditions: { ac_power_only: true, not_on_metered: true, min_free_cache: 2GB, require_repository_reachable: true, deadline: 48h }
    retry: { max_attempts: 5, initial_delay: 30s, max_delay: 1h }
    throttle: { limit_upload: 2MiB/s, limit_download: 4096, low_priority: true, read_concurrency: 4 }
    stale_after: 3d
  often: { schedule: every 6h }
  daily: { schedule: "30 1 * * *", retention: null }
secrets: { backend: file, file: ~/secrets.json }
pause: { default: 2h }
orchestrator: { url: "https://orch.example.com", protocol: v1, ca_file: /etc/ca.pem, token: legacy-token-123 }
`;

describe('every feature', () => {
  it('normalises a full configuration', () => {
    const r = validateConfigText(FULL, 'full.yaml', ctx);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const c = r.config;
    expect(c.agent).toMatchObject({ dataDir: '/home/ann/agent-data', logLevel: 'debug', catchUpDelayMs: 300_000 });
    expect(c.restic).toMatchObject({ cancelGraceMs: 20_000, stallTimeoutMs: 1_800_000, runTimeoutMs: 43_200_000, retryLockMs: 600_000 });
    expect(c.repositories.local?.password).toEqual({ kind: 'command', command: 'pass show restic' });
    expect(c.repositories.s3).toEqual({
      name: 's3',
      url: 's3:s3.amazonaws.com/bucket/restic',
      password: { kind: 'keyring', account: 'my-s3-password' },
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_DEFAULT_REGION: 'eu-west-1', RESTIC_PACK_SIZE: '64' },
      secretEnv: ['AWS_SECRET_ACCESS_KEY'],
      check: expect.objectContaining({ schedule: { kind: 'cron', expression: '0 4 * * 0', timezone: 'Europe/Berlin' }, jitterMs: 0, readDataSubset: '5%' }),
      prune: expect.anything(),
    });
    expect(c.sources[0]).toEqual({
      path: '/home',
      policy: 'workdays',
      repository: 's3',
      exclude: ['*.tmp', '*.iso'],
      tags: ['home', 'laptop'],
      plugin: null,
      hooks: NO_HOOKS,
    });
    expect(c.policies.workdays).toEqual({
      name: 'workdays',
      schedule: { kind: 'cron', expression: '0 18 * * 1-5', timezone: 'Europe/Berlin' },
      jitterMs: 600_000,
      retention: { keepLast: 3, keepDaily: 14, keepWithin: '30d' },
      prune: 'maintenance',
      conditions: { acPowerOnly: true, notOnMetered: true, minFreeCacheBytes: 2e9, requireRepositoryReachable: true, deadlineMs: 172_800_000 },
      retry: { maxAttempts: 5, initialDelayMs: 30_000, maxDelayMs: 3_600_000 },
      throttle: { limitUploadKiBs: 2048, limitDownloadKiBs: 4096, lowPriority: true, readConcurrency: 4 },
      staleAfterMs: 259_200_000,
    });
    expect(c.policies.often?.schedule).toEqual({ kind: 'every', intervalMs: 21_600_000 });
    expect(c.policies.often?.prune).toBe('never');
    // Overriding a built-in keeps its other fields.
    expect(c.policies.daily?.schedule).toEqual({ kind: 'cron', expression: '30 1 * * *', timezone: null });
    expect(c.policies.daily?.retention).toBeNull();
    expect(c.policies.daily?.jitterMs).toBe(30 * 60_000);
    expect(c.secrets).toEqual({ backend: 'file', file: '/home/ann/secrets.json' });
    expect(c.pause.defaultMs).toBe(7_200_000);
    expect(c.orchestrator).toEqual({
      url: 'https://orch.example.com',
      protocol: 'v1',
      caFile: '/etc/ca.pem',
      insecureLoopback: false,
      legacyToken: 'legacy-token-123',
    });
    expect(r.warnings.some((w) => w.includes('orchestrator.token'))).toBe(true);
  });

  it('warns about secret-looking names in plain env', () => {
    const r = validateConfigText('repository: { url: /r, env: { B2_ACCOUNT_KEY: x, MY_API_TOKEN: y } }', 't', ctx);
    expect(r.ok && r.warnings.join('\n')).toMatch(/repository\.env\.MY_API_TOKEN looks like a secret/);
  });
});

describe('errors', () => {
  it('names an unknown key and suggests the closest one', () => {
    const [e, ...rest] = errors('agent:\n  id: a\n  poll_intervall: 60s\n');
    expect(rest).toEqual([]);
    expect(e?.path).toBe('agent.poll_intervall');
    expect(e?.message).toContain('did you mean "poll_interval"?');
    expect(e?.line).toBe(3);
  });

  it('reports unknown keys at the top level and inside lists', () => {
    const errs = errors('reposotory: { url: /r }\nbackup: { sources: [ { path: /a }, { path: /b, polcy: daily } ] }');
    expect(errs.map((e) => e.path)).toEqual(['reposotory', 'backup.sources[1].polcy']);
    expect(errs[0]?.message).toContain('did you mean "repository"?');
    expect(errs[1]?.message).toContain('did you mean "policy"?');
  });

  it('names the path, the bad value and what is expected', () => {
    const errs = errors('agent: { heartbeat_interval: 30, log_level: verbose }\npolicies: { p: { schedule: "61 * * * *", throttle: { limit_upload: fast } } }');
    const by = Object.fromEntries(errs.map((e) => [e.path, e.message]));
    expect(by['agent.heartbeat_interval']).toMatch(/write "30s"/);
    expect(by['agent.log_level']).toMatch(/expected one of "debug", "info", "warn", "error", got "verbose"/);
    expect(by['policies.p.schedule']).toMatch(/cron expression.*minute: 61/);
    expect(by['policies.p.throttle.limit_upload']).toMatch(/rate such as.*got "fast"/);
  });

  it('reports a missing required key and wrong types', () => {
    const errs = errors('repository: { password_file: /p }\nbackup: { sources: { path: /a } }');
    const by = Object.fromEntries(errs.map((e) => [e.path, e.message]));
    expect(by['repository.url']).toMatch(/required/);
    expect(by['backup.sources']).toMatch(/expected a list, got a mapping/);
  });

  it('rejects more than one password source', () => {
    const errs = errors('repository: { url: /r, password_file: /p, password_command: "echo x" }');
    expect(errs[0]?.message).toMatch(/only one of password_file, password_command/);
  });

  it('does not echo values of secret-looking keys', () => {
    const errs = errors('orchestrator: { url: "https://o.example", token: 12345678 }');
    expect(errs[0]?.path).toBe('orchestrator.token');
    expect(errs[0]?.message).not.toContain('12345678');
  });

  it('checks that sources name existing policies and repositories', () => {
    const errs = errors(`
repositories: { nas: { url: /nas }, cloud: { url: /cloud } }
backup:
  sources:
    - { path: /a, policy: daly, repository: nas }
    - { path: /b, repository: clud }
    - { path: /c }
`);
    expect(errs.map((e) => [e.path, e.line])).toEqual([
      ['backup.sources[0].policy', 5],
      ['backup.sources[1].repository', 6],
      ['backup.sources[2].repository', 7],
    ]);
    expect(errs[0]?.message).toMatch(/unknown policy "daly" \(did you mean "daily"\?\); known policies: hourly, daily, weekly/);
    expect(errs[1]?.message).toMatch(/unknown repository "clud" \(did you mean "cloud"\?\); known repositories: nas, cloud/);
    expect(errs[2]?.message).toMatch(/required when several repositories are configured: one of nas, cloud/);
  });

  it('checks retry delays against the defaults they are merged with', () => {
    expect(errors('policies: { p: { schedule: "@daily", retry: { initial_delay: 1h } } }')[0]).toMatchObject({
      path: 'policies.p.retry.initial_delay',
      message: 'initial_delay (1h) must not be longer than max_delay (30m)',
    });
    ok('policies: { p: { schedule: "@daily", retry: { initial_delay: 1h, max_delay: 2h } } }');
  });

  it('a source without any repository is an error', () => {
    expect(errors('backup: { sources: [ { path: /a } ] }')[0]?.message).toMatch(/no repository to back up to/);
  });

  it('refuses a password in a repository URL without echoing it', () => {
    const [e] = errors('repository: { url: "rest:https://bob:hunter2@host:8000/repo" }');
    expect(e?.path).toBe('repository.url');
    expect(e?.message).toMatch(/password in plain text/);
    expect(e?.message).toMatch(/secret_env/);
    expect(e?.message).not.toContain('hunter2');
  });

  it('requires a schedule for a custom policy but not for a built-in override', () => {
    expect(errors('policies: { mine: { jitter: 5m } }')[0]).toMatchObject({ path: 'policies.mine.schedule' });
    ok('policies: { daily: { jitter: 5m } }');
  });

  it('validates time zones, retention and orchestrator URLs', () => {
    expect(errors('policies: { p: { schedule: "@daily", timezone: Mars/Base } }')[0]?.message).toMatch(/IANA time zone/);
    expect(errors('policies: { p: { schedule: "@daily", retention: {} } }')[0]?.message).toMatch(/at least one keep_/);
    expect(errors('orchestrator: { url: "http://orch.example.com" }')[0]?.message).toMatch(/must use https/);
    expect(errors('orchestrator: { url: "http://127.0.0.1:8080" }')[0]?.message).toMatch(/insecure_loopback/);
    ok('orchestrator: { url: "http://127.0.0.1:8080", insecure_loopback: true }');
    // One loopback rule for config and both clients: all of 127.0.0.0/8 and ::1, nothing else.
    ok('orchestrator: { url: "http://127.0.0.2:8080", insecure_loopback: true }');
    ok('orchestrator: { url: "http://[::1]:8080", protocol: restic-monitor, insecure_loopback: true }');
    expect(checkBaseUrl('http://127.0.0.2:8080/', true)).toBe('http://127.0.0.2:8080');
    expect(errors('orchestrator: { url: "http://128.0.0.1:8080", insecure_loopback: true }')[0]?.message).toMatch(/must use https/);
    expect(errors('orchestrator: { url: "ftp://orch.example.com" }')[0]?.message).toMatch(/unsupported scheme/);
  });

  it('reports YAML syntax errors with line:column', () => {
    const [e] = errors('agent:\n  id: a\n  x: [1,\nb: 2\n');
    expect(e?.message).toMatch(/^YAML syntax error at test\.yaml:\d+:\d+: /);
    expect(e?.line).toBeGreaterThan(1);
    expect(errors('a: 1\na: 2\n')[0]?.message).toMatch(/YAML syntax error at test\.yaml:2:1: .*unique/i);
  });
});
