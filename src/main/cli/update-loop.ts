import { confirmStart, inWindow, UpdateRefused, updaterFor, UpdateStateFile, AGENT_VERSION, type AgentCore } from '../core/index.js';
import { restartInto, selfBinary } from './commands/update.js';

/**
 * The daemon's side of auto-update. At start the new version confirms itself. Then, when `update.enabled` (by
 * default: the single-file binary), every `update.check_every` inside `update.window`: check the signed feed,
 * hold (running restic finishes, managed mode drains), download, verify, health-check, stop, swap, restart.
 * SIGUSR2 (sent by `restic-agent update` by hand) restarts into the binary on disk once nothing runs.
 */
export async function startUpdateLoop(agent: AgentCore): Promise<() => void> {
  const binary = selfBinary();
  const config = agent.effectiveConfig();
  await confirmStart(new UpdateStateFile(config.agent.dataDir), AGENT_VERSION, binary, agent.logs);
  let busy = false;
  const restartWhenIdle = async (why: string): Promise<void> => {
    if (busy || !binary) return;
    busy = true;
    agent.logs.info(`${why}: restarting into ${binary} once nothing runs`);
    await agent.holdForUpdate();
    await agent.stop();
    restartInto(binary);
  };
  const onSignal = () => void restartWhenIdle('SIGUSR2 received');
  if (process.platform !== 'win32') process.on('SIGUSR2', onSignal);

  const u = config.update;
  const enabled = u.enabled ?? binary !== null;
  let timer: NodeJS.Timeout | null = null;
  const cycle = async (): Promise<void> => {
    if (busy || !inWindow(u.window)) return;
    const updater = updaterFor(agent, binary);
    const found = await updater.check();
    if (!found || busy) return;
    busy = true;
    try {
      await agent.holdForUpdate();
      const prepared = await updater.prepare(found);
      await agent.stop();
      // The core is stopped now: whatever the swap does, this process restarts (into A when the swap failed).
      await updater.commit(prepared).catch((e: Error) => agent.logs.error(`update: the swap failed (${e.message}); restarting as ${AGENT_VERSION}`));
      restartInto(binary ?? '');
    } catch (e) {
      agent.releaseHold();
      throw e;
    } finally {
      busy = false;
    }
  };
  const run = () => void cycle().catch((e: Error) => agent.logs[e instanceof UpdateRefused ? 'error' : 'warn'](`update: ${e.message}`));
  if (enabled && u.feed) {
    agent.logs.info(`auto-update on: ${u.channel} from ${u.feed}, every ${Math.round(u.checkEveryMs / 1000)} s${u.window ? ' inside the window' : ''}`);
    run();
    timer = setInterval(run, u.checkEveryMs);
    timer.unref();
  }
  return () => {
    if (timer) clearInterval(timer);
    process.off('SIGUSR2', onSignal);
  };
}
