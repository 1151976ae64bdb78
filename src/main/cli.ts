#!/usr/bin/env node
/**
 * `restic-agent`: the headless shell over the agent core (servers, systemd/launchd/Windows services, scripts).
 *
 * Human output on stdout, logs on stderr; `--json` for scripts; exit codes in `cli/exit-codes.ts`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import type { LogEntry } from '../shared/model/log.js';
import type { RunRecord } from '../shared/model/run.js';
import { EXIT, exitCodeFor } from './cli/exit-codes.js';
import { formatRun, formatSnapshots, formatStatus } from './cli/format.js';
import {
  type AgentCore,
  type OneShot,
  createAgentCore,
  AGENT_VERSION,
  checkPaths,
  ConfigError,
  readConfigText,
  validateConfigText,
  parseDuration,
  writeConfigFile,
  formatHuman,
  currentPlatformPaths,
  detectResticVersion,
} from './core/index.js';

interface GlobalOpts {
  config?: string;
  json?: boolean;
  logFormat: 'text' | 'json';
  quiet?: boolean;
  recover: boolean;
}

const program = new Command('restic-agent')
  .description('Backup agent for restic: standalone schedules, or managed by an orchestrator.')
  .version(AGENT_VERSION, '-V, --version', 'print the agent version')
  .addOption(new Option('-c, --config <path>', 'config file').env('RESTIC_AGENT_CONFIG'))
  .option('--json', 'machine-readable output on stdout')
  .addOption(new Option('--log-format <format>', 'log lines on stderr').choices(['text', 'json']).default('text'))
  .option('-q, --quiet', 'no log lines on stderr (errors still shown)')
  .option('--no-recover', 'refuse to start when the state database is damaged (default: move it aside and start fresh)')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

let exitCode: number = EXIT.ok;
/** Commander ignores what actions return: an action's number becomes the process exit code. */
const act =
  <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
  async (...args: A): Promise<void> => {
    exitCode = await fn(...args);
  };

const globals = (): GlobalOpts => program.opts<GlobalOpts>();
const configPath = (): string => globals().config ?? currentPlatformPaths().configFile;

function printLog(e: LogEntry): void {
  const { logFormat, quiet } = globals();
  if (quiet && e.level !== 'error') return;
  process.stderr.write((logFormat === 'json' ? JSON.stringify(e) : formatHuman(e)) + '\n');
}

async function withAgent<T>(fn: (agent: AgentCore) => Promise<T>, opts: { demoIfMissing?: boolean; emptyIfMissing?: boolean } = {}): Promise<T> {
  if (opts.emptyIfMissing && !existsSync(configPath())) await writeConfigFile(configPath(), '# restic-agent configuration (see docs/configuration.md)\n');
  const agent = await createAgentCore({
    configPath: configPath(),
    schedule: false,
    ifMissing: opts.demoIfMissing ? 'demo' : 'fail',
    recoverCorruptState: globals().recover,
    onLog: printLog,
  });
  try {
    return await fn(agent);
  } finally {
    await agent.stop();
  }
}

function output(value: unknown, human: () => string): void {
  process.stdout.write((globals().json ? JSON.stringify(value, null, 2) : human()) + '\n');
}

async function oneShot(op: OneShot): Promise<number> {
  const records: ReadonlyArray<RunRecord> = await withAgent(async (agent) => {
    const ac = cancelOnSignals(agent);
    try {
      return await agent.runNow(op);
    } finally {
      ac();
    }
  });
  output(records, () => records.map(formatRun).join('\n'));
  return exitCodeFor(records);
}

/** SIGINT/SIGTERM cancel running restic cleanly (lock released) instead of killing it. */
function cancelOnSignals(agent: AgentCore): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping restic cleanly (press Ctrl-C again to force)…\n`);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    void agent.cancel(null);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

const repoOption = new Option('-r, --repository <name>', 'only this repository (default: all)');

program
  .command('run')
  .description('run the agent in the foreground: schedules, retention and checks (creates a demo config on first run)')
  .action(
    act(async () => {
      const agent = await createAgentCore({
        configPath: configPath(),
        schedule: true,
        ifMissing: 'demo',
        recoverCorruptState: globals().recover,
        onLog: printLog,
      });
      if (agent.createdDemo) {
        const status = await agent.getStatus();
        process.stderr.write(
          `\nNo configuration was found, so a demo was set up at ${agent.configPath}:\n` +
            `  it backs up ${status.sources.map((s) => s.path).join(', ')} to a local repository, password in ${status.secretBackend}.\n` +
            `  Edit that file to back up your own folders (see examples/ and docs/configuration.md).\n\n`,
        );
        await agent.backupNow(null);
      }
      const keepAlive = setInterval(() => {}, 2 ** 30);
      await new Promise<void>((resolve) => {
        const stop = (sig: NodeJS.Signals): void => {
          agent.logs.info(`${sig} received: shutting down (running restic is stopped cleanly)`);
          process.on(sig, () => process.exit(EXIT.cancelled));
          void agent.stop().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      clearInterval(keepAlive);
      return EXIT.ok;
    }),
  );

program
  .command('backup')
  .description('back up now (all sources, or one) and apply retention')
  .option('-s, --source <path>', 'only this source path')
  .action(act(async (o: { source?: string }) => oneShot({ kind: 'backup', source: o.source ?? null })));

program
  .command('check')
  .description('check repository integrity')
  .addOption(repoOption)
  .option('--read-data-subset <subset>', 'also read this part of the data, e.g. 5% or 1/10')
  .action(
    act(async (o: { repository?: string; readDataSubset?: string }) =>
      oneShot({ kind: 'check', repository: o.repository ?? null, readDataSubset: o.readDataSubset ?? null }),
    ),
  );

program
  .command('forget')
  .description("apply the policies' retention to this agent's snapshots")
  .addOption(repoOption)
  .option('--prune', 'also prune unreferenced data')
  .action(act(async (o: { repository?: string; prune?: boolean }) => oneShot({ kind: 'forget', repository: o.repository ?? null, prune: o.prune ?? false })));

program
  .command('prune')
  .description('remove unreferenced data from the repository')
  .addOption(repoOption)
  .action(act(async (o: { repository?: string }) => oneShot({ kind: 'prune', repository: o.repository ?? null })));

program
  .command('init')
  .description('initialise the configured repository (or one of them)')
  .addOption(repoOption)
  .action(act(async (o: { repository?: string }) => oneShot({ kind: 'init', repository: o.repository ?? null })));

program
  .command('unlock')
  .description('remove stale locks from the repository')
  .addOption(repoOption)
  .action(act(async (o: { repository?: string }) => oneShot({ kind: 'unlock', repository: o.repository ?? null })));

program
  .command('snapshots')
  .description('list snapshots')
  .addOption(repoOption)
  .action(
    act(async (o: { repository?: string }) => {
      const list = await withAgent((a) => a.listSnapshots(o.repository ?? null));
      output(list, () => formatSnapshots(list));
      return EXIT.ok;
    }),
  );

program
  .command('status')
  .description('show state, last and next runs, pause, restic version and secret backend')
  .action(
    act(async () => {
      const status = await withAgent((a) => a.getStatus());
      output(status, () => formatStatus(status));
      return status.lastError ? EXIT.failed : EXIT.ok;
    }),
  );

program
  .command('pause')
  .description('pause scheduled runs (default: the configured pause duration)')
  .option('--for <duration>', 'e.g. 1h, 30m, 2d')
  .option('--until <time>', 'an ISO 8601 time')
  .action(
    act(async (o: { for?: string; until?: string }) => {
      let until: string | null = o.until ?? null;
      if (o.for) {
        const d = parseDuration(o.for);
        if (!d.ok) throw new ConfigError('--for', [{ path: '--for', message: d.message }]);
        until = new Date(Date.now() + d.value).toISOString();
      }
      const status = await withAgent(async (a) => {
        await a.pause(until);
        return a.getStatus();
      });
      output({ pausedUntil: status.pausedUntil }, () => `paused until ${status.pausedUntil}`);
      return EXIT.ok;
    }),
  );

program
  .command('resume')
  .description('resume scheduled runs')
  .action(
    act(async () => {
      await withAgent((a) => a.resume());
      output({ pausedUntil: null }, () => 'resumed');
      return EXIT.ok;
    }),
  );

program
  .command('enroll')
  .description('connect this agent to an orchestrator (the token goes to the secret store, never the config file)')
  .requiredOption('--url <url>', 'orchestrator base URL (https://…)')
  .option('--token <token>', 'v1: the enrollment token (single use); restic-monitor: the API credential')
  .option('--token-file <path>', 'read the token from this file ("-" = standard input), keeping it out of ps and shell history')
  .option('--ca-file <pem>', 'CA certificate for a private PKI')
  .addOption(new Option('--protocol <dialect>', 'orchestrator API').choices(['auto', 'v1', 'restic-monitor']).default('auto'))
  .option('--insecure-loopback', 'allow plain http:// to a loopback address (development and tests only)')
  .option('--force', 'replace an existing enrollment')
  .action(
    act(
      async (o: {
        url: string;
        token?: string;
        tokenFile?: string;
        caFile?: string;
        protocol: 'auto' | 'v1' | 'restic-monitor';
        insecureLoopback?: boolean;
        force?: boolean;
      }) => {
        const token = await readToken(o);
        const result = await withAgent(
          (a) =>
            a.enroll({
              url: o.url,
              token,
              caFile: o.caFile ?? null,
              protocol: o.protocol,
              insecureLoopback: o.insecureLoopback ?? false,
              force: o.force ?? false,
            }),
          { demoIfMissing: false, emptyIfMissing: true },
        );
        output(result, () => `enrolled (${result.dialect}${result.agentId ? `, agent id ${result.agentId}` : ''}); start the agent with \`restic-agent run\``);
        return EXIT.ok;
      },
    ),
  );

/** The token from `--token-file` (or stdin), `RESTIC_AGENT_TOKEN`, or `--token`, in that order. */
async function readToken(o: { token?: string; tokenFile?: string }): Promise<string> {
  const fromFile = o.tokenFile ? await readFile(o.tokenFile === '-' ? '/dev/stdin' : o.tokenFile, 'utf8') : undefined;
  const token = (fromFile ?? process.env.RESTIC_AGENT_TOKEN ?? o.token ?? '').trim();
  if (!token)
    throw new ConfigError('enroll', [{ path: '--token', message: 'give the token with --token-file FILE (or - for stdin), RESTIC_AGENT_TOKEN, or --token' }]);
  return token;
}

const config = program.command('config').description('configuration helpers');
config
  .command('validate [file]')
  .description('validate a config file (default: the active one), including its paths on this machine')
  .option('--schema-only', 'skip the checks of sources and password files on this machine (a file meant for another one)')
  .action(
    act(async (file: string | undefined, o: { schemaOnly?: boolean }) => {
      const path = file ?? configPath();
      const text = await readConfigText(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') throw new ConfigError(path, [{ path: '', message: `cannot read config file ${path}: it does not exist` }]);
        throw e;
      });
      const parsed = validateConfigText(text, path);
      const paths = parsed.ok && !o.schemaOnly ? checkPaths(parsed.config) : { errors: [], warnings: [] };
      const errors = parsed.ok ? paths.errors : parsed.errors;
      const warnings = parsed.ok ? [...parsed.warnings, ...paths.warnings] : [];
      output(errors.length ? { ok: false, errors } : { ok: true, warnings }, () =>
        errors.length ? new ConfigError(path, errors).format() : [`${path}: valid`, ...warnings.map((w) => `  warning: ${w}`)].join('\n'),
      );
      return errors.length ? EXIT.configError : EXIT.ok;
    }),
  );
config
  .command('path')
  .description('print the active config file path')
  .action(
    act(async () => {
      output({ path: configPath() }, () => configPath());
      return EXIT.ok;
    }),
  );

program
  .command('version')
  .description('print the agent and restic versions')
  .action(
    act(async () => {
      const restic = await detectResticVersion('restic').then(
        (v) => v.raw,
        (e: Error) => `not found (${e.message})`,
      );
      output(
        { agent: AGENT_VERSION, restic, node: process.versions.node },
        () => `restic-agent ${AGENT_VERSION}\nrestic ${restic}\nnode ${process.versions.node}`,
      );
      return EXIT.ok;
    }),
  );

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.format()}\n`);
      return EXIT.configError;
    }
    process.stderr.write(`restic-agent: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv);
