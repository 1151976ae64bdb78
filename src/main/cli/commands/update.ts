import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { AGENT_VERSION, confirmStart, createAgentCore, UpdateRefused, updaterFor, UpdateStateFile, type AgentCore } from '../../core/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { isSingleFile } from '../self.js';

interface UpdateOptions {
  check?: boolean;
  to?: string;
  allowDowngrade?: boolean;
  rollback?: boolean;
}

/** The single-file binary this process runs from, or null under Node. */
export function selfBinary(): string | null {
  return isSingleFile() ? process.execPath : null;
}

/** `update`: check the signed feed, or download, verify, health-check and swap in a release by hand. */
export function registerUpdate(program: Command, cli: CliContext): void {
  const update = program
    .command('update')
    .description('update this single-file binary from the signed feed (docs/auto-update.md)')
    .option('--check', 'only say whether a newer release is offered')
    .option('--to <version>', 'this release instead of the newest')
    .option('--allow-downgrade', 'allow --to an older release')
    .option('--rollback', 'put the previous binary (<name>.previous) back')
    .action(
      cli.act(async (o: UpdateOptions) =>
        cli.withAgent(async (agent) => {
          const updater = updaterFor(agent, selfBinary());
          const opts = { to: o.to ?? null, allowDowngrade: o.allowDowngrade ?? false };
          try {
            if (o.rollback) {
              await updater.rollBack();
              cli.output({ rolledBack: true }, () => 'the previous binary is back in place; restart the agent (or its service) to run it');
              return EXIT.ok;
            }
            if (o.check) {
              const found = await updater.check(opts);
              cli.output({ current: AGENT_VERSION, available: found?.version ?? null }, () =>
                found ? `${found.version} is available (running ${AGENT_VERSION})` : `${AGENT_VERSION} is up to date`,
              );
              return EXIT.ok;
            }
            const found = await updater.check(opts);
            if (!found) {
              cli.output({ current: AGENT_VERSION, updated: null }, () => `${AGENT_VERSION} is up to date`);
              return EXIT.ok;
            }
            const prepared = await updater.prepare(found);
            await updater.commit(prepared);
            const daemon = daemonPid(agent);
            // A daemon restarts into it once idle (and confirms it then); with none running it is in effect now.
            if (daemon) process.kill(daemon, 'SIGUSR2');
            else await confirmStart(new UpdateStateFile(agent.effectiveConfig().agent.dataDir), prepared.version, null, agent.logs);
            cli.output({ from: AGENT_VERSION, updated: prepared.version, daemon }, () =>
              daemon
                ? `updated to ${prepared.version}; the running agent (pid ${daemon}) restarts into it once nothing runs`
                : `updated to ${prepared.version}`,
            );
            return EXIT.ok;
          } catch (e) {
            if (!(e instanceof UpdateRefused)) throw e;
            process.stderr.write(`restic-agent: update refused: ${e.message}\n`);
            return EXIT.failed;
          }
        }),
      ),
    );
  update
    .command('self-check', { hidden: true })
    .description('the health check a new version passes before it is swapped in')
    .requiredOption('--state-copy <file>', 'a copy of the state database to open (and migrate)')
    .action(
      cli.act(async (o: { stateCopy: string }) => {
        const agent = await createAgentCore({ configPath: cli.configPath, schedule: false, stateFile: o.stateCopy, onLog: cli.printLog });
        try {
          await agent.probeOrchestrator();
        } finally {
          await agent.stop();
        }
        process.stdout.write(`${JSON.stringify({ version: AGENT_VERSION })}\n`);
        return EXIT.ok;
      }),
    );
}

/** The pid of a daemon that owns this data dir (another process), if any. */
function daemonPid(agent: AgentCore): number | null {
  const owner = agent.dataDirOwner();
  return owner !== null && owner !== process.pid ? owner : null;
}

/**
 * Runs the updated binary: under a service manager, exit 75 so it restarts the service (systemd Restart=on-failure,
 * launchd KeepAlive, WinSW onfailure); run by hand, start the new binary with the same arguments and exit.
 */
export function restartInto(binary: string): never {
  const env = process.env;
  const managed = Boolean(env.INVOCATION_ID || (env.XPC_SERVICE_NAME && env.XPC_SERVICE_NAME !== '0') || env.RESTIC_AGENT_SERVICE);
  if (!managed) spawn(binary, process.argv.slice(2), { stdio: 'inherit', detached: true }).unref();
  process.exit(managed ? EXIT_RESTART : EXIT.ok);
}

/** EX_TEMPFAIL: "restart me" to the service manager. */
export const EXIT_RESTART = 75;
