import type { AgentBridge } from '../../shared/ipc/bridge.js';

/**
 * The agent bridge: the only place in the renderer that reads `window.agent`.
 *
 * Everything else receives the API as an argument, so stores can be tested against a fake.
 */
export function getAgentBridge(): AgentBridge {
  const bridge = window.agent;
  if (!bridge) throw new Error('window.agent is missing: this page must be opened by Restic Monitor Agent (or a test bridge).');
  return bridge;
}
