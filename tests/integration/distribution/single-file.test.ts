// `npm run dist` for real: the single-file binaries run where no Node.js is (PATH holds restic only) — --version,
// config validate, a backup checked with bare restic, the state database on Node's built-in SQLite; the linux-arm64
// binary under qemu-user and the Windows one under Wine when those are installed; the .deb installs with dpkg -i,
// validates its config, passes systemd-analyze verify, and purges without a trace.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resticBins } from '../../helpers/restic-bins.js';
import { useCheapKdf } from '../../helpers/fast-kdf.js';

const run = promisify(execFile);
const restic = resticBins().at(-1)?.path ?? '/usr/bin/restic';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const canBuild = process.platform === 'linux' && process.arch === 'x64' && existsSync('vendor/node/linux-x64/node');
const qemu = has('qemu-aarch64') && existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1') && existsSync('vendor/node/linux-arm64/node');
// Debian's wine64 package: the loader is not on PATH.
const WINE = '/usr/lib/wine/wine64';
const wine = existsSync(WINE) && existsSync('vendor/node/win-x64/node.exe');
const isRoot = process.getuid?.() === 0;
const debInstalled = spawnSync('dpkg', ['-s', 'restic-agent'], { stdio: 'ignore' }).status === 0;
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
let out = '';

/** A config for a fresh repository under `dir` backing up `dir/src`. */
function world(dir: string, resticPath = 'restic') {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'a.txt'), 'single file\n');
  writeFileSync(join(dir, 'pass'), 'dist-test\n', { mode: 0o600 });
  execFileSync(restic, ['init', '-r', join(dir, 'repo'), '--password-file', join(dir, 'pass')], { stdio: 'ignore' });
  useCheapKdf(join(dir, 'repo'), 'dist-test');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      `repository: { url: ${join(dir, 'repo')}, password_file: ${join(dir, 'pass')} }`,
      `restic: { binary: ${resticPath} }`,
      'secrets: { backend: file }',
      `agent: { data_dir: ${join(dir, 'data')} }`,
      `backup: { sources: [ { path: ${join(dir, 'src')} } ] }`,
    ].join('\n'),
  );
  return config;
}

beforeAll(async () => {
  if (!canBuild) return;
  out = mkdtempSync(join(tmpdir(), 'rma-dist-'));
  const targets = ['linux-x64', ...(qemu ? ['linux-arm64'] : []), ...(wine ? ['win-x64'] : [])];
  await run(process.execPath, ['scripts/build-dist.js', `--out=${out}`, `--only=${targets.join(',')}`], { maxBuffer: 1 << 24 });
}, 300_000);
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe.skipIf(!canBuild)('the single-file binaries and the .deb', () => {
  it('linux-x64, with no Node anywhere on PATH: --version, config validate, and a real backup checked with bare restic', async () => {
    const dir = mkdtempSync(join(out, 'run-'));
    const tools = join(dir, 'tools');
    mkdirSync(tools);
    copyFileSync(restic, join(tools, 'restic'));
    execFileSync('chmod', ['755', join(tools, 'restic')]);
    const config = world(dir);
    const binary = join(out, 'restic-agent-linux-x64');
    const env = { PATH: tools, HOME: dir };
    const agent = (...a: string[]) => run(binary, ['--config', config, ...a], { env, maxBuffer: 1 << 24 });
    expect(spawnSync('sh', ['-c', 'command -v node'], { env }).status).not.toBe(0);

    expect((await agent('--version')).stdout.trim()).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')} \\(commit ([0-9a-f]{7,}|unknown), linux-x64\\)$`));
    expect((await agent('config', 'validate')).stdout).toMatch(/valid/);
    const backup = await agent('backup');
    expect(backup.stdout).toMatch(/SUCCESS +backup/);
    // No ExperimentalWarning (node:sqlite) or any other noise on stderr but the agent's own log lines.
    expect(backup.stderr).not.toMatch(/ExperimentalWarning|SQLite is an experimental/);
    const snaps = JSON.parse(
      execFileSync(restic, ['-r', join(dir, 'repo'), '--password-file', join(dir, 'pass'), 'snapshots', '--json'], { encoding: 'utf8' }),
    ) as Array<{ paths: string[] }>;
    expect(snaps.map((s) => s.paths)).toEqual([[join(dir, 'src')]]);
    // The run is in the state database (node:sqlite), read back by the next command.
    expect((await agent('status')).stdout).toMatch(/last: success at/);
  }, 120_000);

  it('linux-x64: a damaged state database is recognised as such on node:sqlite (moved aside, or refused with --no-recover)', async () => {
    const dir = mkdtempSync(join(out, 'corrupt-'));
    const config = world(dir, restic);
    const agent = (...a: string[]) =>
      run(join(out, 'restic-agent-linux-x64'), ['--config', config, ...a], { env: { PATH: '/usr/bin:/bin', HOME: dir } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    expect((await agent('status')).code).toBe(0);
    writeFileSync(join(dir, 'data', 'state.db'), randomBytes(64 * 1024));
    const refused = await agent('--no-recover', 'status');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`state database ${join(dir, 'data', 'state.db')} is damaged`);
    const recovered = await agent('status');
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toMatch(/the state database was damaged: moved it aside to .*state\.db\.corrupt-/);
  }, 60_000);

  it('SHA256SUMS lists every file built, and they match', () => {
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    expect(sums).toMatch(/ restic-agent-linux-x64\n/);
    expect(sums).toMatch(new RegExp(` restic-agent_${version.replace(/\./g, '\\.')}_amd64\\.deb\\n`));
    expect(spawnSync('sha256sum', ['-c', '--quiet', 'SHA256SUMS'], { cwd: out }).status).toBe(0);
  });

  it.skipIf(!qemu)(
    'linux-arm64 under qemu-user: --version, config validate, and status on its built-in SQLite state database',
    async () => {
      const dir = mkdtempSync(join(out, 'arm-'));
      const config = world(dir, restic);
      const agent = (...a: string[]) =>
        run('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', join(out, 'restic-agent-linux-arm64'), '--config', config, ...a], {
          env: { PATH: '/usr/bin:/bin', HOME: dir },
        });
      expect((await agent('--version')).stdout).toMatch(/, linux-arm64\)$/m);
      expect((await agent('config', 'validate')).stdout).toMatch(/valid/);
      // status opens (and migrates) the state database; restic (x86-64) runs natively from the emulated agent.
      expect((await agent('status')).stdout).toMatch(/state: +idle/);
      expect(existsSync(join(dir, 'data', 'state.db'))).toBe(true);
    },
    180_000,
  );

  it.skipIf(!wine)(
    'win-x64 under Wine: --version and config validate',
    async () => {
      const dir = mkdtempSync(join(out, 'wine-'));
      writeFileSync(join(dir, 'config.yaml'), 'repository: { url: "C:\\\\backup\\\\repo", password_command: "echo pw" }\n');
      const env = { ...process.env, WINEPREFIX: join(dir, 'prefix'), WINEDEBUG: '-all', HOME: dir };
      // Node 22 refuses Windows older than 8.1, which a new prefix reports; and Node under Wine cannot write to a pipe
      // or read one (EBADF), so its standard streams are files.
      await run(WINE, ['winecfg', '/v', 'win10'], { env, timeout: 180_000 });
      const exe = join(out, 'restic-agent-win-x64.exe');
      const wineRun = async (...a: string[]) => {
        await run('sh', ['-c', `"$0" "$@" < /dev/null > "${dir}/out" 2> "${dir}/err"`, WINE, exe, ...a], { env, timeout: 120_000 }).catch((e: Error) => {
          throw new Error(`${e.message}\n${readFileSync(join(dir, 'err'), 'utf8').slice(-2000)}`);
        });
        return readFileSync(join(dir, 'out'), 'utf8');
      };
      expect(await wineRun('--version')).toMatch(new RegExp(`^${version.replace(/\./g, '\\.')} \\(commit .*, win-x64\\)`));
      expect(await wineRun('--config', 'Z:' + join(dir, 'config.yaml').replace(/\//g, '\\'), 'config', 'validate')).toMatch(/: valid/);
      await run('/usr/lib/wine/wineserver', ['-k'], { env }).catch(() => undefined);
    },
    300_000,
  );

  it.skipIf(!isRoot || debInstalled)(
    'the .deb installs with dpkg -i, validates its config, passes systemd-analyze verify, and purges cleanly',
    async () => {
      const deb = join(out, `restic-agent_${version}_amd64.deb`);
      const dpkg = (...a: string[]) => run('dpkg', a, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      await dpkg('-i', deb);
      try {
        expect(execFileSync('/usr/bin/restic-agent', ['--version'], { encoding: 'utf8' })).toMatch(/, linux-x64\)/);
        expect(execFileSync('/usr/bin/restic-agent', ['--config', '/etc/restic-agent/config.yaml', 'config', 'validate'], { encoding: 'utf8' })).toMatch(
          /valid/,
        );
        expect(execFileSync('getent', ['passwd', 'restic-agent'], { encoding: 'utf8' })).toMatch(
          /^restic-agent:.*:\/var\/lib\/restic-agent:\/usr\/sbin\/nologin$/m,
        );
        expect(readFileSync('/var/lib/dpkg/info/restic-agent.conffiles', 'utf8')).toContain('/etc/restic-agent/config.yaml');
        const verify = spawnSync('systemd-analyze', ['verify', '/lib/systemd/system/restic-agent.service'], { encoding: 'utf8' });
        expect(verify.status, verify.stderr).toBe(0);
      } finally {
        await dpkg('--purge', 'restic-agent');
      }
      expect(existsSync('/usr/bin/restic-agent')).toBe(false);
      expect(existsSync('/etc/restic-agent/config.yaml')).toBe(false);
      expect(existsSync('/lib/systemd/system/restic-agent.service')).toBe(false);
      expect(spawnSync('getent', ['passwd', 'restic-agent']).status).not.toBe(0);
    },
    120_000,
  );
});
