import { Command, CommanderError, Option } from 'commander';
import { ConfigError, versionLine } from '../core/index.js';
import { registerConfig } from './commands/config.js';
import { registerEnroll } from './commands/enroll.js';
import { registerOneShots } from './commands/one-shots.js';
import { registerRun } from './commands/run.js';
import { registerService } from './commands/service.js';
import { registerState } from './commands/state.js';
import { registerUpdate } from './commands/update.js';
import { registerVersion } from './commands/version.js';
import { CliContext } from './context.js';
import { EXIT } from './exit-codes.js';

/** Parses `argv`, runs the command and returns the process exit code (errors are printed, never thrown). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('restic-agent')
    .description('Backup agent for restic: standalone schedules, or managed by an orchestrator.')
    .version(versionLine(), '-V, --version', 'print the agent version, commit and platform')
    .addOption(new Option('-c, --config <path>', 'config file').env('RESTIC_AGENT_CONFIG'))
    .option('--json', 'machine-readable output on stdout')
    .addOption(new Option('--log-format <format>', 'log lines on stderr').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'no log lines on stderr (errors still shown)')
    .option('--no-recover', 'refuse to start when the state database is damaged (default: move it aside and start fresh)')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  const cli = new CliContext(program);
  for (const register of [registerRun, registerOneShots, registerState, registerEnroll, registerConfig, registerService, registerUpdate, registerVersion])
    register(program, cli);
  try {
    await program.parseAsync(argv);
    return cli.exitCode;
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
