/**
 * The service definitions `restic-agent install` writes: a systemd unit, a launchd property list, a WinSW service
 * file. Pure functions of their inputs, so tests (and packaging) check exactly what is installed.
 */

export const SERVICE_NAME = 'restic-agent';
export const LAUNCHD_LABEL = 'dev.restic-agent';
export const WINDOWS_SERVICE_ID = 'ResticAgent';
export const WINDOWS_DISPLAY_NAME = 'Restic Monitor Agent';
export const DESCRIPTION = 'Restic Monitor Agent (restic backups on a schedule or from an orchestrator)';

/** What every definition needs: the command line, without a shell. */
export interface ServiceCommand {
  /** The program and its arguments up to the subcommand: the binary, or node and the script. */
  readonly program: ReadonlyArray<string>;
  readonly configPath: string;
  /** Set for the system service: the agent's state and cache, outside any home directory. */
  readonly dataDir?: string;
  readonly cacheDir?: string;
}

/** systemd quotes: a word with spaces or quotes in double quotes, `\` and `"` escaped, `%` doubled (specifiers). */
function systemdWord(w: string): string {
  const escaped = w.replace(/%/g, '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replace(/["\\]/g, (c) => `\\${c}`)}"` : escaped;
}

/**
 * A systemd unit. The system service runs as the dedicated `restic-agent` user (unless `asRoot`), which may read
 * every file (CAP_DAC_READ_SEARCH) and write only its own state and cache and the local repositories.
 */
export function systemdUnit(
  o: ServiceCommand & { readonly user: string | null; readonly system: boolean; readonly writablePaths: ReadonlyArray<string> },
): string {
  const exec = [...o.program, 'run', '--config', o.configPath].map(systemdWord).join(' ');
  const env = [
    ...(o.dataDir ? [`RESTIC_AGENT_DATA_DIR=${o.dataDir}`] : []),
    ...(o.cacheDir ? [`XDG_CACHE_HOME=${o.cacheDir.replace(/\/restic-agent$/, '')}`] : []),
  ];
  const lines = [
    '# Written by `restic-agent install`; `restic-agent uninstall` removes it.',
    '[Unit]',
    `Description=${DESCRIPTION}`,
    'Wants=network-online.target',
    'After=network-online.target',
    // At most 5 restarts in 10 minutes: a broken config must not spin.
    'StartLimitIntervalSec=600',
    'StartLimitBurst=5',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    ...env.map((e) => `Environment=${systemdWord(e)}`),
    'Restart=on-failure',
    'RestartSec=30s',
    // SIGTERM cancels a running restic cleanly (its lock released within cancel_grace) before the agent exits.
    'KillMode=mixed',
    'TimeoutStopSec=90s',
    'Nice=5',
    'IOSchedulingClass=idle',
  ];
  if (o.system) {
    if (o.user) {
      lines.push(
        `User=${o.user}`,
        `Group=${o.user}`,
        // Read everything, write nothing but ReadWritePaths: the least a backup agent needs.
        'AmbientCapabilities=CAP_DAC_READ_SEARCH',
        'CapabilityBoundingSet=CAP_DAC_READ_SEARCH',
      );
    }
    lines.push(
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'PrivateTmp=yes',
      'StateDirectory=restic-agent',
      'StateDirectoryMode=0700',
      'CacheDirectory=restic-agent',
      'CacheDirectoryMode=0700',
      // `-`: a repository that does not exist yet must not stop the service from starting.
      `ReadWritePaths=${[o.dataDir, o.cacheDir, ...o.writablePaths.map((p) => `-${p}`)]
        .filter((p): p is string => !!p)
        .map(systemdWord)
        .join(' ')}`,
    );
  }
  lines.push('', '[Install]', `WantedBy=${o.system ? 'multi-user.target' : 'default.target'}`, '');
  return lines.join('\n');
}

const xml = (s: string): string => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

/** A launchd job: a LaunchAgent (per user) or a LaunchDaemon (root). */
export function launchdPlist(o: ServiceCommand & { readonly logFile: string }): string {
  const args = [...o.program, 'run', '--config', o.configPath].map((a) => `    <string>${xml(a)}</string>`);
  const env = o.dataDir
    ? ['  <key>EnvironmentVariables</key>', '  <dict>', `    <key>RESTIC_AGENT_DATA_DIR</key><string>${xml(o.dataDir)}</string>`, '  </dict>']
    : [];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `restic-agent install`; `restic-agent uninstall` removes it. -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key><string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args,
    '  </array>',
    ...env,
    '  <key>RunAtLoad</key><true/>',
    '  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>',
    '  <key>ThrottleInterval</key><integer>30</integer>',
    '  <key>ExitTimeOut</key><integer>90</integer>',
    '  <key>ProcessType</key><string>Background</string>',
    '  <key>LowPriorityIO</key><true/>',
    `  <key>StandardOutPath</key><string>${xml(o.logFile)}</string>`,
    `  <key>StandardErrorPath</key><string>${xml(o.logFile)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** Windows quoting for one argument of a command line (CommandLineToArgvW rules). */
function windowsArg(a: string): string {
  if (a && !/[\s"]/.test(a)) return a;
  return `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/**
 * A WinSW service file (WinSW is the maintained service wrapper: no hand-written SCM code). On stop, WinSW sends
 * Ctrl+C, which the agent handles like SIGTERM (restic cancelled, its lock released), then waits `stoptimeout`.
 */
export function winswXml(o: ServiceCommand & { readonly logDir: string }): string {
  const [executable, ...rest] = o.program;
  const args = [...rest, 'run', '--config', o.configPath].map(windowsArg).join(' ');
  return [
    '<!-- Written by `restic-agent install`; `restic-agent uninstall` removes it. -->',
    '<service>',
    `  <id>${WINDOWS_SERVICE_ID}</id>`,
    `  <name>${WINDOWS_DISPLAY_NAME}</name>`,
    `  <description>${xml(DESCRIPTION)}</description>`,
    `  <executable>${xml(executable ?? '')}</executable>`,
    `  <arguments>${xml(args)}</arguments>`,
    ...(o.dataDir ? [`  <env name="RESTIC_AGENT_DATA_DIR" value="${xml(o.dataDir)}"/>`] : []),
    '  <startmode>Automatic</startmode>',
    '  <delayedAutoStart>true</delayedAutoStart>',
    '  <stoptimeout>90 sec</stoptimeout>',
    '  <onfailure action="restart" delay="30 sec"/>',
    '  <onfailure action="restart" delay="60 sec"/>',
    '  <onfailure action="none"/>',
    '  <resetfailure>1 hour</resetfailure>',
    `  <logpath>${xml(o.logDir)}</logpath>`,
    '  <log mode="roll-by-size"><sizeThreshold>10240</sizeThreshold><keepFiles>5</keepFiles></log>',
    '</service>',
    '',
  ].join('\n');
}
