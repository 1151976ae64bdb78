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
    .option('-s, --source <path>', 'only this source path')
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
