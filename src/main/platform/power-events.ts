import type { AgentCore } from '../core/index.js';

/** The OS events after which the agent re-plans at once instead of waiting for its next timer. */
export const WAKE_EVENTS = ['resume', 'unlock-screen'] as const;
export type WakeEvent = (typeof WAKE_EVENTS)[number];

/** The part of Electron's `powerMonitor` the shell listens to (a fake in tests). */
export interface PowerMonitorLike {
  on(event: WakeEvent, listener: () => void): unknown;
  removeListener(event: WakeEvent, listener: () => void): unknown;
}

/**
 * Calls `core.wake()` when the machine resumes from sleep or the session is unlocked, so a run missed while
 * suspended is caught up now rather than up to 10 minutes later (the scheduler's longest timer).
 *
 * Returns a function that removes the listeners.
 */
export function wakeOnPowerEvents(powerMonitor: PowerMonitorLike, core: Pick<AgentCore, 'wake'>, log?: (message: string) => void): () => void {
  const listeners = WAKE_EVENTS.map((event) => {
    const listener = (): void => {
      log?.(`${event} reported by the OS: re-planning schedules`);
      core.wake();
    };
    powerMonitor.on(event, listener);
    return () => void powerMonitor.removeListener(event, listener);
  });
  return () => listeners.forEach((off) => off());
}
