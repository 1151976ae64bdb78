import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/shared/model/run.js';
import type { AgentStatus } from '../../../src/shared/model/status.js';
import { resticBins } from '../../helpers/restic-bins.js';
import { tempDir } from '../../helpers/tmp.js';
import { useCheapKdfAfterInit } from '../../helpers/fast-kdf.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `restic-agent` as a user would, with its data dir in `dir`. */
async function agent(dir: string, ...args: string[]): Promise<Result> {
  const env = { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache') };
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), ...args], { env });
    useCheapKdfAfterInit(dir, args);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function setup(binary: string, opts: { repo?: string; files?: number } = {}): string {
  const dir = tempDir('rma-cli-');
  const src = join(dir, 'src');
  mkdirSync(src);
  for (let i = 0; i < (opts.files ?? 3); i++) writeFileSync(join(src, `file-${i}.txt`), `content ${i}\n`.repeat(100));
  writeFileSync(join(dir, 'pass'), 'correct horse battery staple\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'agent: { id: test-agent, hostname: test-host }',
      `restic: { binary: ${binary} }`,
      `repository: { url: ${opts.repo ?? join(dir, 'repo')}, password_file: ${join(dir, 'pass')} }`,
      'secrets: { backend: file }',
      'backup:',
      `  sources: [ { path: ${src}, policy: daily } ]`,
      '  exclude: [ "*.tmp" ]',
    ].join('\n'),
  );
  return dir;
}

describe.each(resticBins())('restic-agent CLI with $label', ({ path: binary }) => {
  it('initialises, backs up with tags, lists snapshots and reports status', async () => {
    const dir = setup(binary);
    expect((await agent(dir, 'init')).code).toBe(0);
    const backup = await agent(dir, '--json', 'backup');
    expect(backup.code, backup.stderr).toBe(0);
    const records = JSON.parse(backup.stdout) as RunRecord[];
    const b = records.find((r) => r.kind === 'backup')!;
    expect(b.outcome).toBe('success');
    expect(b.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(b.stats?.filesNew).toBe(3);
    expect(records.some((r) => r.kind === 'forget' && r.outcome === 'success')).toBe(true);

    const snaps = JSON.parse((await agent(dir, '--json', 'snapshots')).stdout) as Array<{ id: string; tags: string[] }>;
    expect(snaps.map((s) => s.id)).toEqual([b.snapshotId]);
    expect(snaps[0]!.tags).toEqual(expect.arrayContaining(['agent:test-agent', 'policy:daily']));

    const status = JSON.parse((await agent(dir, '--json', 'status')).stdout) as AgentStatus;
    expect(status.sources[0]!.lastRun?.outcome).toBe('success');
    expect(status.resticVersion).toMatch(/^restic \d+\.\d+\.\d+/);
    // The repository password never reaches a log line, even at debug level.
    expect(backup.stderr).not.toContain('correct horse');
  });

  it('exits 12 on a wrong password and 10 on a missing repository, without retrying', async () => {
    const dir = setup(binary);
    expect((await agent(dir, 'init')).code).toBe(0);
    writeFileSync(join(dir, 'pass'), 'not the password\n');
    const wrong = await agent(dir, '--json', 'backup');
    expect(wrong.code).toBe(12);
    expect((JSON.parse(wrong.stdout) as RunRecord[])[0]!.outcome).toBe('wrong-password');

    const missing = await agent(setup(binary, { repo: '/nonexistent/repo' }), '--json', 'backup');
    expect(missing.code).toBe(10);
    expect((JSON.parse(missing.stdout) as RunRecord[])[0]!.message).toMatch(/repository/i);
  });

  it('stops restic cleanly on SIGINT: run marked cancelled, exit 130, no lock left', async () => {
    const dir = setup(binary, { files: 0 });
    // 40 MB of incompressible data read at ≤ 1 MiB/s upload: long enough to interrupt.
    writeFileSync(join(dir, 'src', 'big.bin'), randomBytes(40 << 20));
    const cfg = readFileSync(join(dir, 'config.yaml'), 'utf8').replace('policy: daily', 'policy: slow');
    writeFileSync(join(dir, 'config.yaml'), `${cfg}\npolicies: { slow: { schedule: "0 3 * * *", throttle: { limit_upload: 1024 } } }\n`);
    expect((await agent(dir, 'init')).code).toBe(0);
    const env = { ...process.env, RESTIC_AGENT_DATA_DIR: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache') };
    const child = spawn(process.execPath, [CLI, '--config', join(dir, 'config.yaml'), '--json', 'backup'], { env });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('backup started') && !interrupted) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 2500);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect((JSON.parse(stdout) as RunRecord[])[0]!.outcome).toBe('cancelled');
    const locks = await run(binary, ['list', 'locks', '--no-lock', '--repo', join(dir, 'repo'), '--password-file', join(dir, 'pass')]);
    expect(locks.stdout.trim()).toBe('');
  });
});

describe('restic-agent config validate', () => {
  it('names the key path, the bad value and the fix; exit 78', async () => {
    const dir = tempDir('rma-cli-');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'repository: { url: /srv/repo, password_file: /x }\nbackup:\n  sources:\n    - { path: /home, policy: dayly }\n');
    const r = await agent(dir, 'config', 'validate', file);
    expect(r.code).toBe(78);
    expect(r.stdout).toContain('backup.sources[0].policy');
    expect(r.stdout).toMatch(/daily/);
  });

  it('accepts the original design example', async () => {
    const r = await agent(
      tempDir('rma-cli-'),
      'config',
      'validate',
      '--schema-only',
      fileURLToPath(new URL('../../../examples/original-design.yaml', import.meta.url)),
    );
    expect(r.stdout).toContain('valid');
    expect(r.code).toBe(0);
  });
});
