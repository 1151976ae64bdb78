import type { Command } from 'commander';
import { ConfigError, parseDuration, UpdateStateFile, type UpdateState } from '../../core/index.js';
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
        const [status, update] = await cli.withAgent(
          async (a) => [await a.getStatus(), new UpdateStateFile(a.effectiveConfig().agent.dataDir).read()] as const,
        );
        cli.output({ ...status, update }, () => formatStatus(status) + formatUpdate(update));
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

/** The last update check and attempt, for `status` (nothing when updates were never checked). */
function formatUpdate(u: UpdateState): string {
  const lines = [
    ...(u.lastCheck ? [`update check: ${u.lastCheck.at} ${u.lastCheck.result}: ${u.lastCheck.message}`] : []),
    ...(u.lastUpdate ? [`last update:  ${u.lastUpdate.at} ${u.lastUpdate.from} → ${u.lastUpdate.to} ${u.lastUpdate.result}: ${u.lastUpdate.message}`] : []),
    ...(u.failedVersions.length ? [`not retried:  ${u.failedVersions.join(', ')} (failed their health check)`] : []),
  ];
  return lines.length ? `\n${lines.join('\n')}` : '';
}
