/**
 * Issue #16: what a careful sysadmin tries, through the real `restic-agent` CLI and real restic. Each test failed
 * on the code before its fix (see the closing note).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../../src/shared/model/status.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor, sleep } from '../../helpers/wait.js';
import { useCheapKdfAfterInit } from '../../helpers/fast-kdf.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));
const execFileP = promisify(execFile);
const bins = resticBins();
const current = bins[bins.length - 1]!;
const PASSWORD = 'correct horse battery staple';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function env(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache') };
}

/** Runs the built CLI; `asNobody` drops to the unprivileged user (root reads every file). */
async function agent(dir: string, args: string[], opts: { asNobody?: boolean } = {}): Promise<Result> {
  const argv = [CLI, '--config', join(dir, 'config.yaml'), ...args];
  const [cmd, full] =
    opts.asNobody && process.getuid?.() === 0
      ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', process.execPath, ...argv]]
      : [process.execPath, argv];
  try {
    const { stdout, stderr } = await execFileP(cmd, full as string[], { env: env(dir), maxBuffer: 64 * 1024 * 1024 });
    useCheapKdfAfterInit(dir, args);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A working standalone setup in a temp dir; `extra` lines are appended to the YAML. */
function setup(opts: { binary?: string; resticKeys?: string; extra?: string[]; sourceBytes?: number } = {}): { dir: string; src: string; repo: string } {
  const dir = tempDir('rma-hostile-');
  const src = join(dir, 'src');
  const repo = join(dir, 'repo');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'hello\n');
  if (opts.sourceBytes) writeFileSync(join(src, 'big.bin'), randomBytes(opts.sourceBytes));
  writeFileSync(join(dir, 'pass'), `${PASSWORD}\n`, { mode: 0o600 });
  writeConfig(dir, [
    'agent: { id: test-agent, hostname: test-host }',
    `restic: { binary: ${opts.binary ?? current.path}${opts.resticKeys ? `, ${opts.resticKeys}` : ''} }`,
    `repository: { url: ${repo}, password_file: ${join(dir, 'pass')} }`,
    'secrets: { backend: file }',
    'backup:',
    `  sources: [ { path: ${src}, policy: daily } ]`,
    ...(opts.extra ?? []),
  ]);
  return { dir, src, repo };
}

function writeConfig(dir: string, lines: string[]): void {
  writeFileSync(join(dir, 'config.yaml'), lines.join('\n') + '\n');
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** True while `pid` exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('restic-agent as a hostile operator uses it', () => {
  it('1. a run_timeout over 24.8 days does not fire at once; absurd durations are refused with the maximum', async () => {
    const { dir } = setup({ resticKeys: 'run_timeout: 30d, stall_timeout: 40d' });
    const init = await agent(dir, ['init']);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    expect(init.stderr).not.toMatch(/TimeoutOverflowWarning|TIMEOUT/);
    const backup = await agent(dir, ['--json', 'backup']);
    expect(backup.code, backup.stderr).toBe(0);

    const { dir: bad } = setup({ resticKeys: 'run_timeout: 400d' });
    const v = await agent(bad, ['config', 'validate']);
    expect(v.code).toBe(78);
    expect(v.stdout).toMatch(/restic\.run_timeout \(line \d+\): too long: at most 365d/);
  });

  it.each(bins)(
    '2+3. after kill -9 mid-backup ($label): stale lock removed before the next run, true end time, job outcome',
    async ({ path: binary }) => {
      const { dir, repo } = setup({
        binary,
        sourceBytes: 6 * 1024 * 1024,
        resticKeys: 'retry_lock: 2s',
        extra: ['policies:', '  daily: { throttle: { limit_upload: 64KiB/s } }'],
      });
      expect((await agent(dir, ['init'])).code).toBe(0);
      const child: ChildProcess = spawn(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), 'backup'], { env: env(dir), stdio: 'ignore' });
      const locks = join(repo, 'locks');
      await waitFor('restic to take its lock', () => existsSync(locks) && readdirSync(locks).length > 0, 30_000);
      await sleep(1500);
      const resticPids = childPids(child.pid!);
      expect(resticPids.length).toBeGreaterThan(0);
      // The agent dies without a chance to clean up; restic dies with it (here: at once, to be deterministic).
      const killedAt = Date.now();
      child.kill('SIGKILL');
      for (const pid of resticPids) process.kill(pid, 'SIGKILL');
      await waitFor('restic to be gone', () => resticPids.every((p) => !running(p)), 30_000);
      expect(readdirSync(locks).length).toBe(1);
      await sleep(1500);

      const status = await agent(dir, ['--json', 'status']);
      const s = JSON.parse(status.stdout) as AgentStatus;
      const last = s.sources[0]!.lastRun!;
      expect(last.outcome).toBe('killed');
      // The end is when the run last showed life, not when `status` looked.
      expect(Date.parse(last.endedAt!)).toBeLessThanOrEqual(killedAt);
      expect(status.stderr).toMatch(/removed stale locks left by an interrupted run/);

      const check = await agent(dir, ['--json', 'check']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      expect(readdirSync(locks)).toEqual([]);
    },
    120_000,
  );

  it('3. a backup whose retention step fails is not a success in status', async () => {
    const { dir, repo } = setup({ resticKeys: 'retry_lock: 1s' });
    expect((await agent(dir, ['init'])).code).toBe(0);
    // A second writer holds a shared lock: the backup proceeds, its `forget` (exclusive) cannot.
    const holder = spawn(current.path, ['-r', repo, '--no-cache', 'backup', '--stdin', '--stdin-filename', 'held'], {
      env: { PATH: process.env.PATH, RESTIC_PASSWORD: PASSWORD },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      await waitFor('the holder to take its lock', () => readdirSync(join(repo, 'locks')).length > 0, 30_000);
      const backup = await agent(dir, ['--json', 'backup']);
      const records = JSON.parse(backup.stdout) as Array<{ kind: string; outcome: string }>;
      expect(records.map((r) => [r.kind, r.outcome])).toEqual([
        ['backup', 'success'],
        ['forget', 'locked'],
      ]);
      const s = JSON.parse((await agent(dir, ['--json', 'status'])).stdout) as AgentStatus;
      expect(s.sources[0]!.lastRun?.outcome).toBe('locked');
      expect(s.sources[0]!.lastRun?.message).toMatch(/^backup success \(snapshot [0-9a-f]{8} saved\), but retention \(forget\) locked/);
      expect(s.state).toBe('error');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('4. a config that is a directory or unreadable exits 78 and says why', async () => {
    const dir = tempDir('rma-hostile-');
    mkdirSync(join(dir, 'config.yaml'));
    for (const args of [['config', 'validate'], ['status'], ['run']]) {
      const r = await agent(dir, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78);
      expect(r.stdout + r.stderr).toContain(`cannot read config file ${join(dir, 'config.yaml')}: it is a directory, not a file`);
    }
    const other = tempDir('rma-hostile-');
    chmodSync(other, 0o755);
    writeFileSync(join(other, 'config.yaml'), 'agent: { id: x }\n', { mode: 0o600 });
    const r = await agent(other, ['config', 'validate'], { asNobody: true });
    expect(r.code).toBe(78);
    expect(r.stdout + r.stderr).toMatch(/cannot read config file .*config\.yaml: permission denied \(running as (nobody|\S+)\)/);
  });

  it('5. relative or missing sources and a missing password file are errors; a missing mount is a warning', async () => {
    const { dir, src } = setup();
    const yaml = readFileSync(join(dir, 'config.yaml'), 'utf8');
    writeFileSync(join(dir, 'config.yaml'), yaml.replace(`path: ${src}`, 'path: data/docs'));
    let v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    expect(v.stdout).toContain('backup.sources[0].path (line 6): "data/docs" is a relative path');

    writeFileSync(join(dir, 'config.yaml'), yaml.replace(`path: ${src}`, `path: ${src}-gone`).replace(join(dir, 'pass'), '/nonexistent/pass'));
    v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    expect(v.stdout).toContain(`backup.sources[0].path: ${src}-gone does not exist`);
    expect(v.stdout).toContain('repository.password_file: /nonexistent/pass does not exist');
    const start = await agent(dir, ['status']);
    expect(start.code).toBe(78);
    expect(start.stderr).toContain('does not exist');

    writeFileSync(join(dir, 'config.yaml'), yaml.replace(`path: ${src}`, 'path: /mnt/backup-disk-not-mounted'));
    v = await agent(dir, ['config', 'validate']);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/warning: backup\.sources\[0\]\.path: .* under a mount point/);
  });

  it('6. numbers that are too large say so, with the allowed range', async () => {
    const { dir } = setup({ extra: ['policies:', '  daily: { retention: { keep_last: 1e400 }, retry: { max_attempts: 99999999999999999999 } }'] });
    const v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    expect(v.stdout).toMatch(/keep_last \(line \d+\): too large \(allowed: 0 to 1,000,000\)/);
    expect(v.stdout).toMatch(/max_attempts \(line \d+\): too large \(allowed: 1 to 1,000\)/);
    expect(v.stdout).not.toMatch(/got null/);
  });

  it('7. a huge config is refused by size; a problem shared by many entries is reported once with a count', async () => {
    const dir = tempDir('rma-hostile-');
    const sources = Array.from({ length: 240_000 }, (_, i) => `  - { path: /srv/data/${i} }`);
    writeConfig(dir, ['backup:', '  sources:', ...sources]);
    let v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    expect(v.stderr).toMatch(/cannot read config file .*: it is \d+\.\d MiB; the limit is 1 MiB/);

    writeConfig(dir, ['backup:', '  sources:', ...sources.slice(0, 20_000)]);
    v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    const lines = v.stdout.trim().split('\n');
    expect(lines.length).toBeLessThan(5);
    expect(v.stdout).toContain('no repository to back up to');
    expect(v.stdout).toContain('(the same in 20,000 entries of backup.sources[*])');
  });

  it('8. a YAML syntax error is reported once, with the header and line the docs show', async () => {
    const dir = tempDir('rma-hostile-');
    writeConfig(dir, ['backup:', '  sources: [ { path: /srv, policy: daily }', 'policies: {}']);
    const v = await agent(dir, ['config', 'validate']);
    expect(v.code).toBe(78);
    const lines = v.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${join(dir, 'config.yaml')}: 1 problem found`);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}- line \d+: YAML syntax error at .*config\.yaml:\d+:\d+: /);
  });

  it('9. a corrupt state DB is moved aside and the agent starts fresh; --no-recover refuses', async () => {
    const { dir } = setup();
    expect((await agent(dir, ['init'])).code).toBe(0);
    const db = join(dir, 'data', 'state.db');
    writeFileSync(db, randomBytes(64 * 1024));
    const refused = await agent(dir, ['--no-recover', 'status']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`state database ${db} is damaged`);
    const s = await agent(dir, ['status']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toMatch(/the state database was damaged: moved it aside to .*state\.db\.corrupt-\d{4}-/);
    expect(readdirSync(join(dir, 'data')).some((f) => /^state\.db\.corrupt-/.test(f))).toBe(true);
  });

  it('two daemons on one data dir: the second refuses with the first one’s pid', async () => {
    const { dir } = setup();
    expect((await agent(dir, ['init'])).code).toBe(0);
    const first = spawn(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), 'run'], { env: env(dir), stdio: 'ignore' });
    try {
      await waitFor('the first daemon', () => existsSync(join(dir, 'data', 'agent.pid')), 30_000);
      const second = await agent(dir, ['run']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`another restic-agent (pid ${first.pid}) is already running`);
    } finally {
      first.kill('SIGTERM');
      await new Promise((r) => first.once('exit', r));
    }
  });

  it('a world-readable secrets file is refused with the fix', async () => {
    const { dir } = setup();
    mkdirSync(join(dir, 'data'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'data', 'secrets.json'), '{"version":1,"secrets":{}}\n', { mode: 0o644 });
    chmodSync(join(dir, 'data', 'secrets.json'), 0o644);
    const r = await agent(dir, ['status']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/secrets\.json.*(chmod 600|0600)/);
  });
});
