import type { AgentCore } from '../agent/contract.js';
import { AGENT_VERSION } from '../agent/version.js';
import { BUILT_IN_RELEASE_KEYS } from './keys.js';
import { UpdateStateFile } from './state.js';
import { Updater } from './updater.js';

export { UpdateRefused } from './manifest.js';
export { BUILT_IN_RELEASE_KEYS } from './keys.js';
export { verifyDownloadedFile } from './signed-feed.js';
export { UpdateStateFile, type UpdateState } from './state.js';
export { confirmStart, inWindow, type Prepared } from './updater.js';

/** The updater for a running core: its config, state copy and log; `binary` is the single-file binary (or null). */
export function updaterFor(agent: AgentCore, binary: string | null): Updater {
  const config = agent.effectiveConfig();
  return new Updater({
    config: config.update,
    builtInKeys: BUILT_IN_RELEASE_KEYS,
    binary,
    currentVersion: AGENT_VERSION,
    configPath: agent.configPath,
    state: new UpdateStateFile(config.agent.dataDir),
    copyState: (to) => agent.copyStateTo(to),
    log: agent.logs,
  });
}
