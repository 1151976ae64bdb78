import type { AgentCore, AgentCoreOptions } from './core/agent-core.js';

/**
 * Loads `createAgentCore` from the core.
 *
 * Imported lazily so the window and tray code stays loadable (and testable) on its own.
 */
export async function loadAgentCore(options: AgentCoreOptions): Promise<AgentCore> {
  const specifier = './core/agent.js';
  const mod = (await import(specifier)) as { createAgentCore(o: AgentCoreOptions): Promise<AgentCore> };
  return mod.createAgentCore(options);
}
