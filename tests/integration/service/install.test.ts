// `restic-agent install` / `uninstall` / `service status` through the real CLI, staged with --root: the systemd
// units pass `systemd-analyze verify`, the launchd property list parses with Python's plistlib and has the keys
// launchd needs, the WinSW service file has the shape WinSW reads; uninstall leaves the staging dir as it was.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../../bin/restic-agent.js', import.meta.url));
const WINSW = fileURLToPath(new URL('../../../node_modules/node-windows/bin/winsw/winsw.exe', import.meta.url));
const run = promisify(execFile);

async function cli(config: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, '--config', config, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/** Every path under `dir` with its type and mode: what "left as it was" compares. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      out.push(`${relative(dir, p)} ${st.isDirectory() ? 'dir' : st.size} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function setup(): { dir: string; root: string; config: string } {
  const dir = tempDir('rma-install-');
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'hostname'), 'already here\n');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, `repository: { url: ${join(dir, 'repo')}, password_file: /etc/hostname }\nbackup: { sources: [ { path: /etc } ] }\n`);
  return { dir, root, config };
}

describe('restic-agent install (staged with --root)', () => {
  it('systemd system service: a verified unit with the least privileges, then a clean uninstall', async () => {
    const { dir, root, config } = setup();
    const before = tree(root);
    const installed = await cli(config, 'install', '--root', root, '--platform', 'linux');
    expect(installed, installed.stderr).toMatchObject({ code: 0 });
    expect(installed.stdout).toMatch(/would run: useradd --system .* restic-agent/);
    expect(installed.stdout).toMatch(/would run: systemctl enable --now restic-agent\.service/);
    const unitPath = join(root, 'etc/systemd/system/restic-agent.service');
    const unit = readFileSync(unitPath, 'utf8');
    for (const line of [
      `ExecStart=${process.execPath} ${CLI} run --config ${config}`,
      'User=restic-agent',
      'AmbientCapabilities=CAP_DAC_READ_SEARCH',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'PrivateTmp=yes',
      `ReadWritePaths=/var/lib/restic-agent /var/cache/restic-agent -${join(dir, 'repo')}`,
      'Restart=on-failure',
      'StartLimitBurst=5',
    ])
      expect(unit).toContain(`${line}\n`);
    expect(unit).not.toMatch(/npx/);
    execFileSync('systemd-analyze', ['verify', unitPath], { stdio: 'pipe' }); // throws on an error

    expect((await cli(config, 'service', 'status', '--root', root, '--platform', 'linux')).stdout).toMatch(/^installed: .*restic-agent\.service/);
    const removed = await cli(config, 'uninstall', '--root', root, '--platform', 'linux');
    expect(removed, removed.stderr).toMatchObject({ code: 0 });
    expect(removed.stdout).toMatch(/would run: systemctl disable --now restic-agent\.service/);
    expect(tree(root)).toEqual(before);
    expect(await cli(config, 'service', 'status', '--root', root, '--platform', 'linux')).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/not installed/),
    });
  });

  it('systemd --user and --as-root variants verify too; a foreign unit is never overwritten', async () => {
    const { root, config } = setup();
    expect((await cli(config, 'install', '--user', '--root', root, '--platform', 'linux')).code).toBe(0);
    const userUnit = join(root, homedir(), '.config/systemd/user/restic-agent.service');
    expect(readFileSync(userUnit, 'utf8')).toMatch(/WantedBy=default\.target/);
    expect(readFileSync(userUnit, 'utf8')).not.toMatch(/^User=/m);
    execFileSync('systemd-analyze', ['verify', userUnit], { stdio: 'pipe' });

    const asRoot = join(tempDir('rma-install-'), 'root');
    expect((await cli(config, 'install', '--as-root', '--root', asRoot, '--platform', 'linux')).code).toBe(0);
    const unit = readFileSync(join(asRoot, 'etc/systemd/system/restic-agent.service'), 'utf8');
    expect(unit).not.toMatch(/^User=/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);

    const foreign = join(tempDir('rma-install-'), 'root');
    mkdirSync(join(foreign, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(foreign, 'etc/systemd/system/restic-agent.service'), '[Service]\nExecStart=/bin/true\n');
    expect(await cli(config, 'install', '--root', foreign, '--platform', 'linux')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/exists and was not written by restic-agent install: remove it first/),
    });
  });

  it('launchd: a LaunchDaemon (and a LaunchAgent with --user) that parses as a property list with the keys launchd needs', async () => {
    const { root, config } = setup();
    const before = tree(root);
    const r = await cli(config, 'install', '--root', root, '--platform', 'darwin');
    expect(r, r.stderr).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/would run: launchctl bootstrap system \/Library\/LaunchDaemons\/dev\.restic-agent\.plist/),
    });
    const plist = join(root, 'Library/LaunchDaemons/dev.restic-agent.plist');
    const parsed = JSON.parse(
      execFileSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1], "rb"))))', plist], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      Label: 'dev.restic-agent',
      ProgramArguments: [process.execPath, CLI, 'run', '--config', config],
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      EnvironmentVariables: { RESTIC_AGENT_DATA_DIR: '/Library/Application Support/restic-agent' },
    });
    expect((await cli(config, 'uninstall', '--root', root, '--platform', 'darwin')).stdout).toMatch(/would run: launchctl bootout system\/dev\.restic-agent/);
    expect(tree(root)).toEqual(before);
    expect((await cli(config, 'install', '--user', '--root', root, '--platform', 'darwin')).stdout).toMatch(
      new RegExp(`would run: launchctl bootstrap gui/\\d+ ${homedir()}/Library/LaunchAgents/dev\\.restic-agent\\.plist`),
    );
  });

  it('Windows: a WinSW service ResticAgent ("Restic Monitor Agent") with clean stop handling, next to its wrapper', async () => {
    const { root, config } = setup();
    const before = tree(root);
    const r = await cli(config, 'install', '--root', root, '--platform', 'win32');
    expect(r, r.stderr).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/would run: C:\\ProgramData\\restic-agent\\service\\ResticAgent\.exe install/);
    expect(r.stdout).toMatch(/would run: .*ResticAgent\.exe start/);
    const dir = join(root, 'ProgramData/restic-agent/service');
    expect(readFileSync(join(dir, 'ResticAgent.exe')).equals(readFileSync(WINSW))).toBe(true);
    const xml = JSON.parse(
      execFileSync(
        'python3',
        [
          '-c',
          'import json,sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); print(json.dumps({c.tag: (c.text or c.attrib) for c in r}))',
          join(dir, 'ResticAgent.xml'),
        ],
        { encoding: 'utf8' },
      ),
    ) as Record<string, unknown>;
    expect(xml).toMatchObject({
      id: 'ResticAgent',
      name: 'Restic Monitor Agent',
      executable: process.execPath,
      arguments: `${CLI} run --config ${config}`,
      stoptimeout: '90 sec',
      startmode: 'Automatic',
    });
    expect((await cli(config, 'uninstall', '--root', root, '--platform', 'win32')).stdout).toMatch(
      /would run: .*ResticAgent\.exe stop\n.*would run: .*ResticAgent\.exe uninstall/,
    );
    expect(tree(root)).toEqual(before);
  });

  it('--dry-run writes nothing; a bad config or a missing one stops install with the field and the fix', async () => {
    const { dir, root, config } = setup();
    const before = tree(root);
    const dry = await cli(config, 'install', '--dry-run', '--root', root, '--platform', 'linux');
    expect(dry.stdout).toMatch(/would write .*restic-agent\.service/);
    expect(tree(root)).toEqual(before);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'backup: { sources: [ { pth: /etc } ] }\n');
    expect(await cli(bad, 'install', '--root', root, '--platform', 'linux')).toMatchObject({
      code: 78,
      stderr: expect.stringMatching(/pth.*did you mean "path"/),
    });
    expect(await cli(join(dir, 'none.yaml'), 'install', '--platform', 'linux', '--user')).toMatchObject({
      stderr: expect.stringMatching(/does not exist: write the config first/),
    });
  });
});
