import { vi } from 'vitest';
import type { AgentApi, DesktopSettings } from '../../src/shared/agent-api.js';
import { idleStatus } from './status-fixtures.js';

/** An `AgentApi` whose methods are spies with harmless answers; settings are kept like the core keeps them. */
export function fakeAgentApi(): AgentApi & { [K in keyof AgentApi]: ReturnType<typeof vi.fn> } {
  let settings: DesktopSettings = { autoStart: true, notifyOnSuccess: false, notifyOnFailure: true, notifyOnOverdue: true };
  return {
    getStatus: vi.fn(async () => idleStatus()),
    backupNow: vi.fn(async () => ({ runIds: ['r1'] })),
    checkNow: vi.fn(async () => ({ runIds: ['c1'] })),
    cancel: vi.fn(async () => {}),
    pause: vi.fn(async () => {}),
    resume: vi.fn(async () => {}),
    getHistory: vi.fn(async () => []),
    getLogs: vi.fn(async () => []),
    getConfig: vi.fn(async () => ({ path: '/etc/x.yaml', yaml: '' })),
    saveConfig: vi.fn(async () => ({ ok: true as const })),
    listSnapshots: vi.fn(async () => []),
    restore: vi.fn(async () => ({ runId: 'x' })),
    testRepository: vi.fn(async () => ({ reachable: true, state: 'missing' as const, message: 'empty' })),
    generatePassword: vi.fn(async () => 'pw'),
    setupStandalone: vi.fn(async () => ({ ok: true as const })),
    setupManaged: vi.fn(async () => ({ ok: true as const })),
    getSettings: vi.fn(async () => settings),
    setSettings: vi.fn(async (patch: Partial<DesktopSettings>) => (settings = { ...settings, ...patch })),
  } as never;
}
