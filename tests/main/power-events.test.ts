import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { wakeOnPowerEvents } from '../../src/main/platform/power-events.js';

describe('power events', () => {
  it('wakes the core on resume and unlock-screen only, and can be removed', () => {
    const powerMonitor = new EventEmitter();
    const core = { wake: vi.fn() };
    const log = vi.fn();
    const off = wakeOnPowerEvents(powerMonitor, core, log);
    powerMonitor.emit('suspend');
    powerMonitor.emit('lock-screen');
    expect(core.wake).not.toHaveBeenCalled();
    powerMonitor.emit('resume');
    powerMonitor.emit('unlock-screen');
    expect(core.wake).toHaveBeenCalledTimes(2);
    expect(log).toHaveBeenCalledWith('resume reported by the OS: re-planning schedules');
    off();
    expect(powerMonitor.listenerCount('resume') + powerMonitor.listenerCount('unlock-screen')).toBe(0);
    powerMonitor.emit('resume');
    expect(core.wake).toHaveBeenCalledTimes(2);
  });
});
