import type { Command } from 'commander';
import { checkPaths, ConfigError, readConfigText, validateConfigText } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

/** `config validate [file]` and `config path`. */
export function registerConfig(program: Command, cli: CliContext): void {
  const config = program.command('config').description('configuration helpers');
  config
    .command('validate [file]')
    .description('validate a config file (default: the active one), including its paths on this machine')
    .option('--schema-only', 'skip the checks of sources and password files on this machine (a file meant for another one)')
    .action(
      cli.act(async (file: string | undefined, o: { schemaOnly?: boolean }) => {
        const path = file ?? cli.configPath;
        const text = await readConfigText(path).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') throw new ConfigError(path, [{ path: '', message: `cannot read config file ${path}: it does not exist` }]);
          throw e;
        });
        const parsed = validateConfigText(text, path);
        const paths = parsed.ok && !o.schemaOnly ? checkPaths(parsed.config) : { errors: [], warnings: [] };
        const errors = parsed.ok ? paths.errors : parsed.errors;
        const warnings = parsed.ok ? [...parsed.warnings, ...paths.warnings] : [];
        cli.output(errors.length ? { ok: false, errors } : { ok: true, warnings }, () =>
          errors.length ? new ConfigError(path, errors).format() : [`${path}: valid`, ...warnings.map((w) => `  warning: ${w}`)].join('\n'),
        );
        return errors.length ? EXIT.configError : EXIT.ok;
      }),
    );
  config
    .command('path')
    .description('print the active config file path')
    .action(
      cli.act(async () => {
        cli.output({ path: cli.configPath }, () => cli.configPath);
        return EXIT.ok;
      }),
    );
}
