import type { AgentApi } from '../shared/agent-api.js';
import { API_METHODS, type ApiMethod } from '../shared/ipc/channels.js';
import type { ShellSettings } from './platform/desktop-settings.js';

/**
 * The API the window talks to: the core's `AgentApi`, with desktop settings going through `ShellSettings`
 * (stored by the core; only the shell can register login items). The managed setup's testing option
 * (`insecureLoopback`) is the core's: it still refuses http:// to anything but loopback.
 */
export function createDesktopApi(core: AgentApi, settings: ShellSettings): AgentApi {
  const api = {} as Record<ApiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of API_METHODS) {
    api[method] = (...args) => (core[method] as (...a: unknown[]) => Promise<unknown>).apply(core, args);
  }
  api.getSettings = () => settings.read();
  api.setSettings = (...args) => settings.update(args[0] as Parameters<AgentApi['setSettings']>[0]);
  return api as unknown as AgentApi;
}
