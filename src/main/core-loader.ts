import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createAgentCore } from './core/agent/agent.js';
import type { AgentCore, AgentCoreOptions } from './core/agent/contract.js';

/**
 * Starts the agent core for the desktop app.
 *
 * Without a configuration file it writes an empty one first, so the core starts unconfigured ("needs setup")
 * and the window's setup wizard takes over, instead of the CLI's demo defaults.
 */
export async function startDesktopCore(options: AgentCoreOptions): Promise<AgentCore> {
  if (!existsSync(options.configPath)) {
    await mkdir(dirname(options.configPath), { recursive: true });
    await writeFile(options.configPath, '# Restic Monitor Agent configuration: the setup wizard fills this in.\n', { mode: 0o600 });
  }
  return createAgentCore({ ...options, createDemoIfMissing: false });
}
