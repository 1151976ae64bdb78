import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { LAUNCHD_LABEL, launchdPlist, SERVICE_NAME, systemdUnit, WINDOWS_SERVICE_ID, winswXml, type ServiceCommand } from './definitions.js';

export type ServicePlatform = 'linux' | 'darwin' | 'win32';

/** What `restic-agent install` was asked. */
export interface InstallRequest {
  readonly platform: ServicePlatform;
  /** A per-user service (systemd --user, a LaunchAgent) instead of the system one. */
  readonly user: boolean;
  /** systemd: run as root instead of the dedicated `restic-agent` user (docker sources need it). */
  readonly asRoot: boolean;
  readonly start: boolean;
  /** The program before the subcommand: the single-file binary, or node and the CLI script. */
  readonly program: ReadonlyArray<string>;
  readonly configPath: string;
  readonly homedir: string;
  readonly uid: number | null;
  /** Local repository paths the service must be able to write (systemd's ReadWritePaths). */
  readonly writablePaths: ReadonlyArray<string>;
  /** Windows: the WinSW executable to copy next to its service file. */
  readonly winswExe?: string;
  readonly programData?: string;
}

/** A file install writes; `copyFrom` copies a file (the WinSW executable) instead of writing `content`. */
export interface PlannedFile {
  readonly path: string;
  readonly content?: string;
  readonly copyFrom?: string;
  readonly mode: number;
}

/** What install (or uninstall) does, in order: files, then commands for the service manager. */
export interface ServicePlan {
  readonly definition: string;
  readonly files: ReadonlyArray<PlannedFile>;
  readonly commands: ReadonlyArray<ReadonlyArray<string>>;
  /** Where install records what it wrote, for uninstall. */
  readonly manifest: string;
}

const SYSTEM_USER = 'restic-agent';

/** Where the definition goes and how the service manager is told, per platform and mode. */
export function planInstall(r: InstallRequest): ServicePlan {
  const command = (extra: Partial<ServiceCommand> = {}): ServiceCommand => ({ program: r.program, configPath: r.configPath, ...extra });
  if (r.platform === 'linux') {
    const system = !r.user;
    const dir = system ? '/etc/systemd/system' : posix.join(r.homedir, '.config/systemd/user');
    const definition = posix.join(dir, `${SERVICE_NAME}.service`);
    const ctl = system ? ['systemctl'] : ['systemctl', '--user'];
    const user = system && !r.asRoot ? SYSTEM_USER : null;
    const unit = systemdUnit({
      ...command(system ? { dataDir: '/var/lib/restic-agent', cacheDir: '/var/cache/restic-agent' } : {}),
      user,
      system,
      writablePaths: r.writablePaths,
    });
    return {
      definition,
      files: [{ path: definition, content: unit, mode: 0o644 }],
      commands: [
        ...(user
          ? [['useradd', '--system', '--user-group', '--home-dir', '/var/lib/restic-agent', '--no-create-home', '--shell', '/usr/sbin/nologin', user]]
          : []),
        [...ctl, 'daemon-reload'],
        [...ctl, 'enable', ...(r.start ? ['--now'] : []), `${SERVICE_NAME}.service`],
      ],
      manifest: posix.join(system ? '/var/lib/restic-agent' : posix.join(r.homedir, '.local/share/restic-agent'), 'service-install.json'),
    };
  }
  if (r.platform === 'darwin') {
    const daemon = !r.user;
    const definition = daemon ? `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist` : posix.join(r.homedir, 'Library/LaunchAgents', `${LAUNCHD_LABEL}.plist`);
    const logFile = daemon ? '/Library/Logs/restic-agent.log' : posix.join(r.homedir, 'Library/Logs/restic-agent.log');
    const domain = daemon ? 'system' : `gui/${r.uid ?? 501}`;
    return {
      definition,
      files: [
        {
          path: definition,
          content: launchdPlist({ ...command(daemon ? { dataDir: '/Library/Application Support/restic-agent' } : {}), logFile }),
          mode: 0o644,
        },
      ],
      commands: r.start ? [['launchctl', 'bootstrap', domain, definition]] : [],
      manifest: posix.join(
        daemon ? '/Library/Application Support/restic-agent' : posix.join(r.homedir, 'Library/Application Support/restic-agent'),
        'service-install.json',
      ),
    };
  }
  const base = win32.join(r.programData ?? 'C:\\ProgramData', 'restic-agent');
  const dir = win32.join(base, 'service');
  const definition = win32.join(dir, `${WINDOWS_SERVICE_ID}.xml`);
  const wrapper = win32.join(dir, `${WINDOWS_SERVICE_ID}.exe`);
  if (!r.winswExe) throw new Error('the WinSW service wrapper is missing from this build (see docs/distribution.md)');
  return {
    definition,
    files: [
      { path: definition, content: winswXml({ ...command({ dataDir: win32.join(base, 'data') }), logDir: win32.join(base, 'logs') }), mode: 0o644 },
      { path: wrapper, copyFrom: r.winswExe, mode: 0o755 },
    ],
    commands: [[wrapper, 'install'], ...(r.start ? [[wrapper, 'start']] : [])],
    manifest: win32.join(base, 'service-install.json'),
  };
}

/** What was installed: files and directories created (removed again by uninstall), and the user if install added it. */
interface Manifest {
  readonly platform: ServicePlatform;
  readonly user: boolean;
  readonly definition: string;
  readonly files: string[];
  readonly dirs: string[];
  readonly createdUser: string | null;
}

/** `path` under `root` (a staging dir for packaging and tests), or `path` itself. */
function staged(root: string | null, path: string): string {
  if (!root) return path;
  const rel = path.replace(/^[A-Za-z]:/, '').replace(/\\/g, '/');
  return posix.join(root, rel);
}

export interface ApplyOptions {
  readonly root: string | null;
  readonly dryRun: boolean;
  /** Runs a service-manager command (tests inject a recorder); the default runs it. */
  readonly run?: (argv: ReadonlyArray<string>) => void;
  readonly log: (line: string) => void;
}

const runCommand = (argv: ReadonlyArray<string>): void => {
  const [file, ...args] = argv;
  execFileSync(file ?? '', args, { stdio: 'inherit' });
};

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes the plan's files and runs its commands (none under `root` or `dryRun`), recording them for uninstall. */
export function applyInstall(plan: ServicePlan, r: InstallRequest, o: ApplyOptions): void {
  const live = !o.root && !o.dryRun;
  const dirs: string[] = [];
  const mkdirs = (dir: string): void => {
    if (existsSync(dir)) return;
    mkdirs(posix.dirname(dir));
    if (!o.dryRun) mkdirSync(dir);
    dirs.push(dir);
  };
  const files: string[] = [];
  for (const f of [...plan.files, { path: plan.manifest, mode: 0o644 } as PlannedFile]) {
    const target = staged(o.root, f.path);
    if (f.path !== plan.manifest && existsSync(target) && !o.dryRun) {
      const mine = existsSync(staged(o.root, plan.manifest));
      if (!mine) throw new Error(`${target} exists and was not written by restic-agent install: remove it first`);
    }
    mkdirs(posix.dirname(target));
    if (f.path !== plan.manifest) {
      o.log(`${o.dryRun ? 'would write' : 'wrote'} ${target}`);
      if (!o.dryRun) {
        if (f.copyFrom) copyFileSync(f.copyFrom, target);
        else writeFileSync(target, f.content ?? '', { mode: f.mode });
      }
    }
    files.push(target);
  }
  let createdUser: string | null = null;
  for (const c of plan.commands) {
    if (c[0] === 'useradd') {
      const name = c.at(-1) ?? '';
      if (live && userExists(name)) continue;
      createdUser = name;
    }
    o.log(`${live ? 'running' : 'would run'}: ${c.join(' ')}`);
    if (live) (o.run ?? runCommand)(c);
  }
  // A reinstall keeps what the first install created, so uninstall still removes it.
  const manifestFile = staged(o.root, plan.manifest);
  const before = existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : null;
  const manifest: Manifest = {
    platform: r.platform,
    user: r.user,
    definition: plan.definition,
    files: [...new Set([...(before?.files ?? []), ...files])],
    dirs: [...(before?.dirs ?? []), ...dirs],
    createdUser: before?.createdUser ?? createdUser,
  };
  if (!o.dryRun) writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
}

/** The commands that stop and unregister the service. */
function unregisterCommands(m: Manifest, uid: number | null): string[][] {
  if (m.platform === 'linux') {
    const ctl = m.user ? ['systemctl', '--user'] : ['systemctl'];
    return [[...ctl, 'disable', '--now', `${SERVICE_NAME}.service`], [...ctl, 'daemon-reload'], ...(m.createdUser ? [['userdel', m.createdUser]] : [])];
  }
  if (m.platform === 'darwin') return [['launchctl', 'bootout', m.user ? `gui/${uid ?? 501}/${LAUNCHD_LABEL}` : `system/${LAUNCHD_LABEL}`]];
  const wrapper = m.definition.replace(/\.xml$/, '.exe');
  return [
    [wrapper, 'stop'],
    [wrapper, 'uninstall'],
  ];
}

/**
 * Stops and unregisters the service, then removes exactly what install wrote (files, then the directories it
 * created, if empty). With `purge`, also the data dir and the config file.
 */
export function applyUninstall(
  plan: ServicePlan,
  o: ApplyOptions & { readonly uid: number | null; readonly purge: { dataDir: string; configPath: string } | null },
): void {
  const manifestPath = staged(o.root, plan.manifest);
  if (!existsSync(manifestPath)) throw new Error(`not installed: ${manifestPath} does not exist (restic-agent install writes it)`);
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const live = !o.root && !o.dryRun;
  for (const c of unregisterCommands(m, o.uid)) {
    o.log(`${live ? 'running' : 'would run'}: ${c.join(' ')}`);
    if (live) {
      try {
        (o.run ?? runCommand)(c);
      } catch (e) {
        o.log(`  (${(e as Error).message.split('\n')[0]}; continuing)`);
      }
    }
  }
  for (const f of m.files) {
    o.log(`${o.dryRun ? 'would remove' : 'removed'} ${f}`);
    if (!o.dryRun) rmSync(f, { force: true });
  }
  for (const d of [...m.dirs].reverse()) {
    if (o.dryRun || !existsSync(d) || readdirSync(d).length > 0) continue;
    rmdirSync(d);
  }
  if (o.purge) {
    for (const p of [o.purge.dataDir, o.purge.configPath].map((x) => staged(o.root, x))) {
      o.log(`${o.dryRun ? 'would purge' : 'purged'} ${p}`);
      if (!o.dryRun) rmSync(p, { recursive: true, force: true });
    }
  }
}

/** `restic-agent service status`: installed (and where), enabled, running. */
export interface ServiceStatus {
  readonly installed: boolean;
  readonly definition: string;
  readonly enabled: boolean | null;
  readonly running: boolean | null;
}

export function serviceStatus(plan: ServicePlan, r: InstallRequest, root: string | null): ServiceStatus {
  const definition = staged(root, plan.definition);
  const installed = existsSync(definition);
  if (root || !installed) return { installed, definition, enabled: null, running: null };
  const ok = (argv: string[]): boolean | null => {
    try {
      execFileSync(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
      return true;
    } catch (e) {
      return (e as { code?: string }).code === 'ENOENT' ? null : false;
    }
  };
  if (r.platform === 'linux') {
    const ctl = r.user ? ['systemctl', '--user'] : ['systemctl'];
    return { installed, definition, enabled: ok([...ctl, 'is-enabled', '--quiet', SERVICE_NAME]), running: ok([...ctl, 'is-active', '--quiet', SERVICE_NAME]) };
  }
  if (r.platform === 'darwin') {
    const loaded = ok(['launchctl', 'print', r.user ? `gui/${r.uid ?? 501}/${LAUNCHD_LABEL}` : `system/${LAUNCHD_LABEL}`]);
    return { installed, definition, enabled: loaded, running: loaded };
  }
  let out: string;
  try {
    out = execFileSync(plan.definition.replace(/\.xml$/, '.exe'), ['status'], { encoding: 'utf8' });
  } catch {
    return { installed, definition, enabled: null, running: null };
  }
  return { installed, definition, enabled: !/NonExistent/i.test(out), running: /Started|Running/i.test(out) };
}
