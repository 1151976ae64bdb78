import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';
import { startUpdateLoop } from '../update-loop.js';
import type { CliContext } from '../context.js';

/** `run`: the daemon — schedules, retention, checks, managed mode — until SIGINT/SIGTERM. */
export function registerRun(program: Command, cli: CliContext): void {
  program
    .command('run')
    .description('run the agent in the foreground: schedules, retention and checks (creates a demo config on first run)')
    .action(
      cli.act(async () => {
        const agent = await cli.startCore({ schedule: true, ifMissing: 'demo' });
        if (agent.createdDemo) {
          const status = await agent.getStatus();
          process.stderr.write(
            `\nNo configuration was found, so a demo was set up at ${agent.configPath}:\n` +
              `  it backs up ${status.sources.map((s) => s.path).join(', ')} to a local repository, password in ${status.secretBackend}.\n` +
              `  Edit that file to back up your own folders (see examples/ and docs/configuration.md).\n\n`,
          );
          await agent.backupNow(null);
        }
        const stopUpdates = await startUpdateLoop(agent);
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
        stopUpdates();
        return EXIT.ok;
      }),
    );
}
