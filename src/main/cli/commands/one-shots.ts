import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { RunRecord } from '../../../shared/model/run.js';
import type { AgentCore, OneShot } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { exitCodeFor } from '../exit-codes.js';
import { formatRun } from '../format.js';

export const repoOption = (): Option => new Option('-r, --repository <name>', 'only this repository (default: all)');

/** `backup`, `check`, `forget`, `prune`, `init`, `unlock`: run now, wait, exit with the outcome's code. */
export function registerOneShots(program: Command, cli: CliContext): void {
  const run = (op: OneShot): Promise<number> => oneShot(cli, op);
  program
    .command('backup')
    .description('back up now (all sources, or one) and apply retention')
    .option('-s, --source <source>', 'only this source: a path, or a plugin source (postgres:shop-db, or shop-db)')
    .action(cli.act(async (o: { source?: string }) => run({ kind: 'backup', source: o.source ?? null })));
  program
    .command('check')
    .description('check repository integrity')
    .addOption(repoOption())
    .option('--read-data-subset <subset>', 'also read this part of the data, e.g. 5% or 1/10')
    .action(
      cli.act(async (o: { repository?: string; readDataSubset?: string }) =>
        run({ kind: 'check', repository: o.repository ?? null, readDataSubset: o.readDataSubset ?? null }),
      ),
    );
  program
    .command('forget')
    .description("apply the policies' retention to this agent's snapshots")
    .addOption(repoOption())
    .option('--prune', 'also prune unreferenced data')
    .action(cli.act(async (o: { repository?: string; prune?: boolean }) => run({ kind: 'forget', repository: o.repository ?? null, prune: o.prune ?? false })));
  program
    .command('restore')
    .description("restore a plugin source's dump: into a new database, a new Docker volume, or a file")
    .argument('<source>', 'the plugin source (postgres:shop-db, or shop-db)')
    .option('--snapshot <id>', 'this snapshot (default: the newest of this host)')
    .option('--db <name>', 'which database, when the source dumps several')
    .option('--volume <name>', 'which volume, when the source backs up several')
    .option('--to-database <name>', 'a new database to restore into (postgres, mysql)')
    .option('--to-volume <name>', 'a new Docker volume to restore into')
    .option('--to <file>', 'write the raw dump to this new file')
    .action(
      cli.act(async (source: string, o: { snapshot?: string; db?: string; volume?: string; toDatabase?: string; toVolume?: string; to?: string }) => {
        const targets = [
          ...(o.toDatabase ? [{ kind: 'database', name: o.toDatabase } as const] : []),
          ...(o.toVolume ? [{ kind: 'volume', name: o.toVolume } as const] : []),
          ...(o.to ? [{ kind: 'file', path: resolve(o.to) } as const] : []),
        ];
        const [target] = targets;
        if (!target || targets.length > 1)
          program.error('error: restore: give exactly one of --to-database NAME, --to-volume NAME, --to FILE', { exitCode: 2 });
        return run({ kind: 'restore', source, snapshotId: o.snapshot ?? null, item: o.db ?? o.volume ?? null, target });
      }),
    );
  for (const [kind, description] of [
    ['prune', 'remove unreferenced data from the repository'],
    ['init', 'initialise the configured repository (or one of them)'],
    ['unlock', 'remove stale locks from the repository'],
  ] as const) {
    program
      .command(kind)
      .description(description)
      .addOption(repoOption())
      .action(cli.act(async (o: { repository?: string }) => run({ kind, repository: o.repository ?? null })));
  }
}

async function oneShot(cli: CliContext, op: OneShot): Promise<number> {
  const records: ReadonlyArray<RunRecord> = await cli.withAgent(async (agent) => {
    const restore = cancelOnSignals(agent);
    try {
      return await agent.runNow(op);
    } finally {
      restore();
    }
  });
  cli.output(records, () => records.map(formatRun).join('\n'));
  return exitCodeFor(records);
}

/** SIGINT/SIGTERM cancel running restic cleanly (lock released) instead of killing it; a second one kills. */
function cancelOnSignals(agent: AgentCore): () => void {
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping restic cleanly (press Ctrl-C again to force)…\n`);
    restore();
    void agent.cancel(null);
  };
  const restore = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return restore;
}
