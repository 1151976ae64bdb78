import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, posix, resolve, win32 } from 'node:path';
import type { Command } from 'commander';
import {
  applyInstall,
  applyUninstall,
  ConfigError,
  planInstall,
  readConfigText,
  serviceStatus,
  validateConfigText,
  type InstallRequest,
  type ServicePlatform,
} from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { programPath, winswExe } from '../self.js';

interface ServiceOptions {
  user?: boolean;
  asRoot?: boolean;
  start?: boolean;
  root?: string;
  dryRun?: boolean;
  platform?: string;
  purge?: boolean;
  program?: string;
}

const PLATFORMS: ReadonlyArray<ServicePlatform> = ['linux', 'darwin', 'win32'];

/** `install`, `uninstall` and `service status`: the agent as a systemd, launchd or Windows service. */
export function registerService(program: Command, cli: CliContext): void {
  const common = (c: Command): Command =>
    c
      .option('--user', 'a per-user service (systemd --user, a LaunchAgent) instead of the system one')
      .option('--root <dir>', 'stage every file under DIR and call no service manager (packaging, tests)')
      .option('--dry-run', 'print what would be written and run')
      .option('--platform <name>', 'linux, darwin or win32 (default: this one; with --root, stage another platform)')
      .option('--program <path>', "the installed binary's path, when it is not this one (packaging)");
  common(program.command('install'))
    .description('install the agent as a service that starts at boot (or login, with --user) and start it')
    .option('--as-root', 'systemd: run as root instead of the dedicated restic-agent user (docker sources need it)')
    .option('--no-start', 'enable the service but do not start it now')
    .action(
      cli.act(async (o: ServiceOptions) => {
        const r = await request(cli, o);
        const plan = planInstall(r);
        applyInstall(plan, r, { root: o.root ?? null, dryRun: o.dryRun ?? false, log: (l) => process.stdout.write(`${l}\n`) });
        if (!o.root && !o.dryRun) process.stdout.write(`installed ${plan.definition}${r.start ? ' and started it' : ''}\n`);
        return EXIT.ok;
      }),
    );
  common(program.command('uninstall'))
    .description('stop and remove the service (only what install wrote; data and config stay unless --purge)')
    .option('--purge', 'also remove the data dir and the config file')
    .action(
      cli.act(async (o: ServiceOptions) => {
        const r = await request(cli, o, false);
        const plan = planInstall(r);
        applyUninstall(plan, {
          root: o.root ?? null,
          dryRun: o.dryRun ?? false,
          uid: r.uid,
          // The install manifest lives in the service's data dir: purging that dir is purging the data.
          purge: o.purge ? { dataDir: (r.platform === 'win32' ? win32 : posix).dirname(plan.manifest), configPath: r.configPath } : null,
          log: (l) => process.stdout.write(`${l}\n`),
        });
        return EXIT.ok;
      }),
    );
  common(program.command('service').description('the installed service').command('status'))
    .description('whether the service is installed (and where), enabled and running')
    .action(
      cli.act(async (o: ServiceOptions) => {
        const r = await request(cli, o, false);
        const s = serviceStatus(planInstall(r), r, o.root ?? null);
        const word = (v: boolean | null, yes: string, no: string) => (v === null ? 'unknown' : v ? yes : no);
        cli.output(s, () =>
          s.installed
            ? `installed: ${s.definition}\nenabled:   ${word(s.enabled, 'yes', 'no')}\nrunning:   ${word(s.running, 'yes', 'no')}`
            : `not installed (${s.definition} does not exist)`,
        );
        return s.installed ? EXIT.ok : EXIT.failed;
      }),
    );
}

/** The request from the options, with the config checked (install refuses a config that would not start). */
async function request(cli: CliContext, o: ServiceOptions, checkConfig = true): Promise<InstallRequest> {
  const platform = (o.platform ?? process.platform) as ServicePlatform;
  if (!PLATFORMS.includes(platform)) throw new Error(`--platform: expected one of ${PLATFORMS.join(', ')}, not ${o.platform ?? process.platform}`);
  if (platform !== process.platform && !o.root && !o.dryRun) throw new Error(`installing a ${platform} service here needs --root DIR (staging) or --dry-run`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  const system = !o.user && platform !== 'win32';
  if (checkConfig && system && uid !== 0 && !o.root && !o.dryRun)
    throw new Error('a system service is installed as root (sudo restic-agent install), or use install --user');
  const configPath = isAbsolute(cli.configPath) ? cli.configPath : resolve(cli.configPath);
  const writablePaths: string[] = [];
  if (checkConfig && existsSync(configPath)) {
    const parsed = validateConfigText(await readConfigText(configPath), configPath);
    if (!parsed.ok) throw new ConfigError(configPath, parsed.errors);
    // ProtectSystem=strict: a local repository must be listed to be writable.
    for (const repo of Object.values(parsed.config.repositories)) if (isAbsolute(repo.url)) writablePaths.push(repo.url);
  } else if (checkConfig && !o.root && !o.dryRun) {
    throw new ConfigError(configPath, [{ path: '', message: `${configPath} does not exist: write the config first (see README), or give --config FILE` }]);
  }
  return {
    platform,
    user: o.user ?? false,
    asRoot: o.asRoot ?? false,
    start: o.start ?? true,
    program: o.program ? [o.program] : programPath(),
    configPath,
    homedir: homedir(),
    uid,
    writablePaths,
    winswExe: platform === 'win32' ? winswExe() : undefined,
  };
}
