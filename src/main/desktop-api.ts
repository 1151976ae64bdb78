import type { AgentApi, DesktopSettings } from '../shared/agent-api.js';
import { API_METHODS, type ApiMethod } from '../shared/ipc/channels.js';
import type { AutoStart } from './platform/auto-start.js';
import type { DesktopSettingsStore } from './platform/desktop-settings.js';

/**
 * The API the window talks to: the core's `AgentApi`, with the desktop-only settings (auto-start,
 * notifications) answered by the shell, because only the shell can register login items.
 */
export function createDesktopApi(core: AgentApi, settings: DesktopSettingsStore, autoStart: AutoStart): AgentApi {
  const api = {} as Record<ApiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of API_METHODS) {
    api[method] = (...args) => (core[method] as (...a: unknown[]) => Promise<unknown>).apply(core, args);
  }
  api.getSettings = async () => settings.get();
  api.setSettings = async (...args) => {
    const patch = args[0] as Partial<DesktopSettings>;
    if (patch.autoStart !== undefined && patch.autoStart !== settings.get().autoStart) await autoStart.setEnabled(patch.autoStart);
    return settings.set(patch);
  };
  return api as unknown as AgentApi;
}
