import type { Command } from 'commander';
import { AGENT_COMMIT, AGENT_VERSION, currentPlatform, detectResticVersion, versionLine } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

/** `version`: the agent, restic and Node versions. */
export function registerVersion(program: Command, cli: CliContext): void {
  program
    .command('version')
    .description('print the agent and restic versions')
    .action(
      cli.act(async () => {
        const restic = await detectResticVersion('restic').then(
          (v) => v.raw,
          (e: Error) => `not found (${e.message})`,
        );
        cli.output(
          { agent: AGENT_VERSION, commit: AGENT_COMMIT, platform: currentPlatform(), restic, node: process.versions.node },
          () => `restic-agent ${versionLine()}\n${restic}\nnode ${process.versions.node}`,
        );
        return EXIT.ok;
      }),
    );
}
