import type { Command } from 'commander';
import { ConfigError, parseDuration } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { formatSnapshots, formatStatus } from '../format.js';
import { repoOption } from './one-shots.js';

/** `snapshots`, `status`, `pause`, `resume`: read or change the agent's state without running restic jobs. */
export function registerState(program: Command, cli: CliContext): void {
  program
    .command('snapshots')
    .description('list snapshots')
    .addOption(repoOption())
    .action(
      cli.act(async (o: { repository?: string }) => {
        const list = await cli.withAgent((a) => a.listSnapshots(o.repository ?? null));
        cli.output(list, () => formatSnapshots(list));
        return EXIT.ok;
      }),
    );
  program
    .command('status')
    .description('show state, last and next runs, pause, restic version and secret backend')
    .action(
      cli.act(async () => {
        const status = await cli.withAgent((a) => a.getStatus());
        cli.output(status, () => formatStatus(status));
        return status.lastError ? EXIT.failed : EXIT.ok;
      }),
    );
  program
    .command('pause')
    .description('pause scheduled runs (default: the configured pause duration)')
    .option('--for <duration>', 'e.g. 1h, 30m, 2d')
    .option('--until <time>', 'an ISO 8601 time')
    .action(
      cli.act(async (o: { for?: string; until?: string }) => {
        let until: string | null = o.until ?? null;
        if (o.for) {
          const d = parseDuration(o.for);
          if (!d.ok) throw new ConfigError('--for', [{ path: '--for', message: d.message }]);
          until = new Date(Date.now() + d.value).toISOString();
        }
        const status = await cli.withAgent(async (a) => {
          await a.pause(until);
          return a.getStatus();
        });
        cli.output({ pausedUntil: status.pausedUntil }, () => `paused until ${status.pausedUntil}`);
        return EXIT.ok;
      }),
    );
  program
    .command('resume')
    .description('resume scheduled runs')
    .action(
      cli.act(async () => {
        await cli.withAgent((a) => a.resume());
        cli.output({ pausedUntil: null }, () => 'resumed');
        return EXIT.ok;
      }),
    );
}
