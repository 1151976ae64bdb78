import type { AgentApi, ManagedSetup, ValidationResult } from '../shared/agent-api.js';
import { API_METHODS, type ApiMethod } from '../shared/ipc/channels.js';
import type { AgentCore } from './core/index.js';
import type { ShellSettings } from './platform/desktop-settings.js';

/** What the desktop API needs from the core: the UI API plus `enroll` (for the wizard's testing option). */
export type DesktopCore = AgentApi & Pick<AgentCore, 'enroll'>;

/**
 * The API the window talks to: the core's `AgentApi`, with desktop settings going through `ShellSettings`
 * (stored by the core; only the shell can register login items) and the managed setup able to allow plain
 * http to this machine.
 */
export function createDesktopApi(core: DesktopCore, settings: ShellSettings): AgentApi {
  const api = {} as Record<ApiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const method of API_METHODS) {
    api[method] = (...args) => (core[method] as (...a: unknown[]) => Promise<unknown>).apply(core, args);
  }
  api.getSettings = () => settings.read();
  api.setSettings = (...args) => settings.update(args[0] as Parameters<AgentApi['setSettings']>[0]);
  api.setupManaged = (...args) => setupManaged(core, args[0] as ManagedSetup);
  return api as unknown as AgentApi;
}

/**
 * The core's `setupManaged` enrolls with `insecureLoopback: false`; when the wizard's testing box is ticked
 * the shell enrolls itself with it (the orchestrator code still refuses http:// to anything but loopback).
 */
async function setupManaged(core: DesktopCore, setup: ManagedSetup): Promise<ValidationResult> {
  if (!setup.insecureLoopback) return core.setupManaged(setup);
  try {
    await core.enroll({ url: setup.url, token: setup.enrollmentToken, caFile: setup.caFile, protocol: 'auto', insecureLoopback: true });
    return { ok: true };
  } catch (e) {
    return { ok: false, errors: [{ path: 'orchestrator', message: (e as Error).message }] };
  }
}
